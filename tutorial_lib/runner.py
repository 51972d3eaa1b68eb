"""Execute stage notebooks headless with papermill, into a run folder of the workspace."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .workspace import REPO_ROOT, STAGES, Workspace, WorkspaceError

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
KERNEL_NAME = "airlift-tutorial"


@dataclass
class StageResult:
    """How one stage notebook ran."""

    stage: str
    status: str
    seconds: float
    notebook: str
    failed_cell: int | None = None
    error: str | None = None


def stage_notebooks() -> dict[str, Path]:
    """Stage name -> its notebook, in tutorial order, for the stages that have one."""
    found = {}
    for path in sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
        stage = path.stem.split("_", 1)[1]
        if stage in STAGES:
            found[stage] = path
    return found


def select_stages(requested: list[str] | None) -> list[str]:
    """The stages to run, in tutorial order; a clear error for unknown ones."""
    available = stage_notebooks()
    if not requested:
        return list(available)
    unknown = [stage for stage in requested if stage not in available]
    if unknown:
        raise WorkspaceError(
            f"Unknown stage(s): {', '.join(unknown)}. Stages with a notebook: {', '.join(available)}."
        )
    return [stage for stage in available if stage in requested]


def run_stage(stage: str, workspace: Workspace, run_dir: Path, *, timeout: float = 900) -> StageResult:
    """Execute one stage notebook with papermill; never raises for a failing notebook."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source = stage_notebooks()[stage]
    output = run_dir / source.name
    started = time.monotonic()
    try:
        papermill.execute_notebook(
            str(source),
            str(output),
            parameters={"HOME": str(workspace.home)},
            cwd=str(NOTEBOOKS_DIR),
            kernel_name=KERNEL_NAME,
            progress_bar=False,
            execution_timeout=timeout,
        )
    except PapermillExecutionError as exc:
        return StageResult(
            stage,
            "failed",
            round(time.monotonic() - started, 1),
            str(output),
            failed_cell=exc.exec_count,
            error=f"{exc.ename}: {exc.evalue}".strip()[:2000],
        )
    except Exception as exc:  # a dead kernel, a timeout: still a result, not a crash of the whole run
        return StageResult(
            stage,
            "failed",
            round(time.monotonic() - started, 1),
            str(output),
            error=f"{type(exc).__name__}: {exc}"[:2000],
        )
    return StageResult(stage, "passed", round(time.monotonic() - started, 1), str(output))


def run_stages(
    stages: list[str], workspace: Workspace, *, stop_at_failure: bool = True
) -> tuple[Path, list[StageResult]]:
    """Run stages in order into `<workspace>/runs/<timestamp>/`; return the folder and the results."""
    run_dir = workspace.runs_dir / time.strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for stage in stages:
        print(f"[{stage}] running ...", flush=True)
        result = run_stage(stage, workspace, run_dir)
        results.append(result)
        print(format_result(result, workspace), flush=True)
        if result.status != "passed" and stop_at_failure:
            break
    (run_dir / "summary.json").write_text(json.dumps([asdict(result) for result in results], indent=2))
    return run_dir, results


def format_result(result: StageResult, workspace: Workspace) -> str:
    """One line for a stage's result."""
    where = Path(result.notebook)
    shown = where.relative_to(workspace.home) if where.is_relative_to(workspace.home) else where
    line = f"[{result.stage}] {result.status} in {result.seconds:.0f} s -> {shown}"
    if result.status != "passed":
        cell = f" at cell [{result.failed_cell}]" if result.failed_cell else ""
        line += f"\n  stage {result.stage} failed{cell}: {result.error}"
    return line
