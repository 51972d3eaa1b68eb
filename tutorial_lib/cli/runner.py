"""Execute stage notebooks headless with papermill, into a run folder of the workspace, and report."""

from __future__ import annotations

import itertools
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

import requests

from tutorial_lib import stages
from tutorial_lib.clients.airflow import AirflowError
from tutorial_lib.clients.dagster import DagsterError
from tutorial_lib.services import ServiceError
from tutorial_lib.workspace import REPO_ROOT, Workspace, WorkspaceError

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
# A service that is gone or does not answer: its counts in the summary stay empty.
UNREACHABLE = (AirflowError, DagsterError, ServiceError, requests.RequestException, OSError)
log = logging.getLogger(__name__)
KERNEL_NAME = "airlift-tutorial"
ENGINE_NAME = "airlift-tutorial"
SLOW_CELL_SECONDS = 10.0
# A headless run solves the exercises (no learner is there to), which proves each one can be solved.
DEFAULT_PARAMETERS: dict[str, Any] = {"SOLUTIONS": True}
ACTIVITY = (
    "dag_runs",
    "dagster_runs",
    "assets_materialized",
    "materializations",
    "checks_passed",
    "checks_failed",
)


@dataclass
class StageResult:
    """How one stage notebook ran, and what it did on the services."""

    stage: str
    status: str
    seconds: float
    notebook: str
    failed_cell: int | None = None
    failed_source: str | None = None
    error: str | None = None
    activity: dict[str, int | None] = field(default_factory=dict)


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


class CellTracker:
    """Knows which cell of the running notebook executes, and since when; shows it while it waits."""

    def __init__(self, stage: str, out: TextIO, *, live: bool) -> None:
        self.stage, self.out, self.live = stage, out, live
        self.started = time.monotonic()
        self.cell: tuple[int, str, float] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, daemon=True) if live else None

    def __enter__(self) -> CellTracker:
        if self._thread:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
            self.out.write("\r\033[K")
            self.out.flush()

    def cell_started(self, index: int, source: str) -> None:
        """A cell begins: remember it, and report the previous one if it was slow (logs without a TTY)."""
        self._report_slow()
        first = next((line for line in source.splitlines() if line and not line.startswith("#")), "")
        self.cell = (index, first[:60], time.monotonic())

    def finished(self) -> None:
        """The notebook ended: report its last cell if it was slow."""
        self._report_slow()

    def _report_slow(self) -> None:
        if self.live or not self.cell:
            return
        index, line, since = self.cell
        took = time.monotonic() - since
        if took >= SLOW_CELL_SECONDS:
            print(f"[{self.stage}]   cell {index} took {took:.0f} s: {line}", file=self.out, flush=True)

    def _spin(self) -> None:
        for frame in itertools.cycle("|/-\\"):
            if self._stop.wait(0.25):
                return
            total = time.monotonic() - self.started
            now = ""
            if self.cell:
                index, line, since = self.cell
                now = f"  cell {index} ({time.monotonic() - since:.0f} s): {line}"
            self.out.write(f"\r\033[K{frame} [{self.stage}] {total:4.0f} s{now}"[:150])
            self.out.flush()


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


def stage_activity(workspace: Workspace, since: float) -> dict[str, int | None]:
    """What the services hold from `since` on: DAG runs, Dagster runs, materializations, check results.

    Each stage starts by clearing runs and asset history, so this counts what the stage itself did.
    A service that is not running (Airflow after the decommission stage) counts as None.
    """
    from tutorial_lib import services
    from tutorial_lib.names import DAG_ID

    activity: dict[str, int | None] = dict.fromkeys(ACTIVITY)
    state = workspace.read_state().get("services", {})
    # A service that is gone (Airflow after decommission) fails its calls: its counts stay None.
    try:
        if "airflow" in state:
            airflow = services.airflow_client(workspace)
            runs = airflow.dag_runs(DAG_ID) if DAG_ID in airflow.dag_ids() else []
            activity["dag_runs"] = sum(1 for run in runs if _after(run.get("start_date"), since))
    except UNREACHABLE as exc:  # the report must not fail the run; the notebook proved the stage already
        log.info("No Airflow counts for the summary: %s", exc)
    try:
        if "dagster" in state:
            activity.update(services.dagster_client(workspace, timeout=20).activity_since(since))
    except UNREACHABLE as exc:
        log.info("No Dagster counts for the summary: %s", exc)
    return activity


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


def _after(value: str | None, since: float) -> bool:
    from tutorial_lib.clients.airflow import parse_time

    return bool(value) and parse_time(value).timestamp() >= since


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


COLUMNS = (
    ("stage", "stage"),
    ("status", "status"),
    ("wall", "wall time"),
    ("dag_runs", "DAG runs"),
    ("dagster_runs", "Dagster runs"),
    ("assets_materialized", "assets materialized"),
    ("materializations", "materializations"),
    ("checks", "checks passed"),
)


def summary_rows(results: list[StageResult]) -> list[dict[str, str]]:
    """One row of display strings per stage, plus a total row."""

    def count(value: int | None) -> str:
        return "-" if value is None else str(value)

    rows = []
    for result in results:
        act = result.activity
        checks = (
            "-"
            if act.get("checks_passed") is None
            else f"{act['checks_passed']}/{act['checks_passed'] + (act.get('checks_failed') or 0)}"
        )
        rows.append(
            {
                "stage": result.stage,
                "status": result.status,
                "wall": f"{result.seconds:.0f} s",
                "dag_runs": count(act.get("dag_runs")),
                "dagster_runs": count(act.get("dagster_runs")),
                "assets_materialized": count(act.get("assets_materialized")),
                "materializations": count(act.get("materializations")),
                "checks": checks,
            }
        )
    passed = sum(result.status == "passed" for result in results)
    rows.append(
        {key: "" for key, _ in COLUMNS}
        | {
            "stage": "total",
            "status": f"{passed}/{len(results)} passed",
            "wall": f"{sum(result.seconds for result in results):.0f} s",
        }
    )
    return rows


def format_table(results: list[StageResult]) -> str:
    """The summary as an aligned text table for the terminal."""
    rows = summary_rows(results)
    widths = {key: max(len(title), *(len(row[key]) for row in rows)) for key, title in COLUMNS}
    lines = ["  ".join(title.ljust(widths[key]) for key, title in COLUMNS).rstrip()]
    lines.append("  ".join("-" * widths[key] for key, _ in COLUMNS))
    lines += ["  ".join(row[key].ljust(widths[key]) for key, _ in COLUMNS).rstrip() for row in rows]
    return "\n".join(lines)


def format_markdown(results: list[StageResult]) -> str:
    """The summary as a Markdown table, with the failure (if any) below it."""
    rows = summary_rows(results)
    lines = [
        "# airlift-tutorial run",
        "",
        "| " + " | ".join(title for _, title in COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    lines += ["| " + " | ".join(row[key] for key, _ in COLUMNS) + " |" for row in rows]
    for result in results:
        if result.status != "passed":
            lines += ["", f"## {result.stage} failed at cell {result.failed_cell or '?'}", ""]
            if result.failed_source:
                lines += ["```python", result.failed_source, "```", ""]
            lines += ["```", result.error or "", "```"]
    return "\n".join(lines) + "\n"


def write_summary(run_dir: Path, results: list[StageResult]) -> None:
    """summary.json (every field) and summary.md (the table) in the run folder."""
    (run_dir / "summary.json").write_text(json.dumps([asdict(result) for result in results], indent=2))
    (run_dir / "summary.md").write_text(format_markdown(results))


def format_result(result: StageResult, workspace: Workspace) -> str:
    """One line for a stage's result, and the failing cell and error if it failed."""
    where = Path(result.notebook)
    shown = where.relative_to(workspace.home) if where.is_relative_to(workspace.home) else where
    line = f"[{result.stage}] {result.status} in {result.seconds:.0f} s -> {shown}"
    if result.status != "passed":
        cell = f" at cell [{result.failed_cell}]" if result.failed_cell else ""
        line += f"\n  stage {result.stage} failed{cell}: {result.error}"
        if result.failed_source:
            source = "\n".join(f"    {text}" for text in result.failed_source.splitlines()[:8])
            line += f"\n  the cell:\n{source}"
    return line
