"""A headless run's results: one record per stage, shown as a terminal table, a Markdown file and JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tutorial_lib.workspace import Workspace

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
