"""Execute stage notebooks headless with papermill, into a run folder of the workspace.

What a run did is counted by `activity`, shown by `summary`; `cell_tracker` says which cell runs meanwhile.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from tutorial_lib import stages
from tutorial_lib.cli.activity import stage_activity
from tutorial_lib.cli.cell_tracker import CellTracker
from tutorial_lib.cli.summary import (
    ACTIVITY,
    StageResult,
    format_markdown,
    format_result,
    format_table,
    summary_rows,
    write_summary,
)
from tutorial_lib.workspace import REPO_ROOT, Workspace, WorkspaceError

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
KERNEL_NAME = "airlift-tutorial"
ENGINE_NAME = "airlift-tutorial"
# A headless run solves the exercises (no learner is there to), which proves each one can be solved.
DEFAULT_PARAMETERS: dict[str, Any] = {"SOLUTIONS": True}


def stage_notebooks() -> dict[str, Path]:
    """Stage name -> its notebook, in tutorial order (the registry's order)."""
    return {stage.name: NOTEBOOKS_DIR / stage.notebook for stage in stages.STAGES}


def select_stages(
    requested: list[str] | None, start: str | None = None, *, variants: bool = False
) -> list[str]:
    """The stages to run, in tutorial order: the core five (with the variants too if `variants`), a subset,
    or every stage from `start` on."""
    available = list(stage_notebooks())
    wanted = list(requested or [])
    unknown = [stage for stage in [*wanted, *([start] if start else [])] if stage not in available]
    if unknown:
        raise WorkspaceError(
            f"Unknown stage(s): {', '.join(unknown)}. Stages with a notebook: {', '.join(available)}."
        )
    if wanted and start:
        raise WorkspaceError("Give either a list of stages or --from STAGE, not both.")
    default = stages.names(variants=variants)
    if start:
        return default[default.index(start) :] if start in default else [start]
    return [stage for stage in available if stage in wanted] if wanted else default


_TRACKER: CellTracker | None = None


def ensure_kernel(prefix: str = sys.prefix, manager: Any = None) -> bool:
    """Register the notebooks' Jupyter kernel (this Python) in `prefix` when Jupyter has none by that name,
    so that `uv run airlift-tutorial run` works without `make install`; return whether it registered one."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        (manager or KernelSpecManager()).get_kernel_spec(KERNEL_NAME)
        return False
    except NoSuchKernel:
        from ipykernel.kernelspec import install

        install(kernel_name=KERNEL_NAME, display_name=KERNEL_NAME, prefix=prefix)
        return True


def _register_engine() -> None:
    """A papermill engine that tells the current `CellTracker` when each cell starts."""
    from papermill.engines import NBClientEngine, papermill_engines

    class TrackingEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, **kwargs: Any) -> Any:
            started: Callable[..., Any] = nb_man.cell_start

            def cell_start(cell: Any, cell_index: int | None = None, **kw: Any) -> Any:
                if _TRACKER and cell.cell_type == "code":
                    _TRACKER.cell_started(cell.get("execution_count") or (cell_index or 0) + 1, cell.source)
                return started(cell, cell_index, **kw)

            nb_man.cell_start = cell_start
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    papermill_engines.register(ENGINE_NAME, TrackingEngine)


def _failed_source(output: Path, exec_count: int | None) -> str | None:
    """The source of the cell that raised, from the executed notebook papermill kept."""
    try:
        cells = json.loads(output.read_text())["cells"]
    except (OSError, ValueError, KeyError):
        return None
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        errored = any(out.get("output_type") == "error" for out in cell.get("outputs", []))
        if errored or (exec_count and cell.get("execution_count") == exec_count):
            return "".join(cell.get("source", ""))[:500]
    return None


def run_stage(
    stage: str,
    workspace: Workspace,
    run_dir: Path,
    *,
    timeout: float = 900,
    out: TextIO | None = None,
    parameters: dict[str, Any] | None = None,
) -> StageResult:
    """Execute one stage notebook with papermill; never raises for a failing notebook."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    global _TRACKER
    _register_engine()
    ensure_kernel()
    out = out or sys.stdout
    source = stage_notebooks()[stage]
    output = run_dir / source.name
    started = time.monotonic()
    since = time.time()
    failed_cell = error = None
    with CellTracker(stage, out, live=out.isatty()) as tracker:
        _TRACKER = tracker
        try:
            papermill.execute_notebook(
                str(source),
                str(output),
                parameters={**(parameters or {}), "HOME": str(workspace.home)},
                cwd=str(NOTEBOOKS_DIR),
                kernel_name=KERNEL_NAME,
                engine_name=ENGINE_NAME,
                progress_bar=False,
                execution_timeout=timeout,
                # The kernel's own start-up warnings (TCP on 127.0.0.1 without encryption) are not the run's.
                extra_arguments=["--IPKernelApp.log_level=ERROR"],
            )
        except PapermillExecutionError as exc:
            failed_cell, error = exc.exec_count, f"{exc.ename}: {exc.evalue}".strip()[:2000]
        except Exception as exc:  # a dead kernel, a timeout: still a result, not a crash of the whole run
            error = f"{type(exc).__name__}: {exc}"[:2000]
        finally:
            _TRACKER = None
            tracker.finished()
    seconds = round(time.monotonic() - started, 1)
    result = StageResult(stage, "failed" if error else "passed", seconds, str(output))
    if error:
        result.failed_cell, result.error = failed_cell, error
        result.failed_source = _failed_source(output, failed_cell)
    result.activity = stage_activity(workspace, since)
    return result


def parse_parameters(pairs: list[str]) -> dict[str, Any]:
    """NAME=VALUE pairs for the notebooks' parameters cells; values are JSON where they parse as JSON."""
    parameters: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.isidentifier():
            raise WorkspaceError(f"Parameter {pair!r} is not NAME=VALUE (e.g. -p RUN_TIMEOUT=600).")
        try:
            parameters[name] = json.loads(value)
        except ValueError:
            parameters[name] = value
    return parameters


def run_stages(
    stages: list[str],
    workspace: Workspace,
    *,
    stop_at_failure: bool = True,
    out: TextIO | None = None,
    parameters: dict[str, Any] | None = None,
) -> tuple[Path, list[StageResult]]:
    """Run stages in order into `<workspace>/runs/<timestamp>/`; write summary.json and summary.md."""
    out = out or sys.stdout
    run_dir = workspace.runs_dir / time.strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for number, stage in enumerate(stages, 1):
        print(f"[{stage}] stage {number}/{len(stages)} running ...", file=out, flush=True)
        result = run_stage(stage, workspace, run_dir, out=out, parameters=parameters)
        results.append(result)
        print(format_result(result, workspace), file=out, flush=True)
        if result.status != "passed" and stop_at_failure:
            break
    write_summary(run_dir, results)
    return run_dir, results


__all__ = [
    "ACTIVITY",
    "DEFAULT_PARAMETERS",
    "KERNEL_NAME",
    "CellTracker",
    "StageResult",
    "ensure_kernel",
    "format_markdown",
    "format_result",
    "format_table",
    "parse_parameters",
    "run_stage",
    "run_stages",
    "select_stages",
    "stage_activity",
    "stage_notebooks",
    "summary_rows",
    "write_summary",
]
