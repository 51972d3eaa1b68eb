"""A headless run's summary: a row per stage with its counts, Markdown and JSON files, a failure's line."""

from __future__ import annotations

import json
from pathlib import Path

from tutorial_lib.cli.summary import ACTIVITY, StageResult, format_result, format_table, write_summary
from tutorial_lib.workspace import Workspace

ACTIVE = {
    "dag_runs": 2,
    "dagster_runs": 1,
    "assets_materialized": 10,
    "materializations": 20,
    "checks_passed": 1,
    "checks_failed": 1,
}


def _results() -> list[StageResult]:
    return [
        StageResult("peer", "passed", 61.4, "runs/x/01_peer.ipynb", activity=ACTIVE),
        StageResult(
            "observe",
            "failed",
            12.0,
            "runs/x/02_observe.ipynb",
            failed_cell=5,
            failed_source="run = wb.run_dag(timeout=RUN_TIMEOUT)",
            error="DagRunFailed: load_raw_customers failed",
            activity=dict.fromkeys(ACTIVITY),
        ),
    ]


def test_the_table_has_a_row_per_stage_with_counts_and_a_total() -> None:
    table = format_table(_results()).splitlines()
    assert table[0].split()[:4] == ["stage", "status", "wall", "time"]
    assert table[2].split() == ["peer", "passed", "61", "s", "2", "1", "10", "20", "1/2"]
    assert table[3].split() == ["observe", "failed", "12", "s", "-", "-", "-", "-", "-"]
    assert table[4].split() == ["total", "1/2", "passed", "73", "s"]


def test_summary_files_hold_every_result_and_the_failing_cell(tmp_path: Path) -> None:
    write_summary(tmp_path, _results())
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert [entry["stage"] for entry in saved] == ["peer", "observe"]
    assert saved[0]["activity"]["materializations"] == 20
    markdown = (tmp_path / "summary.md").read_text()
    assert "| peer | passed | 61 s | 2 | 1 | 10 | 20 | 1/2 |" in markdown
    assert "## observe failed at cell 5" in markdown
    assert "run = wb.run_dag(timeout=RUN_TIMEOUT)" in markdown and "DagRunFailed" in markdown


def test_a_failed_stage_line_names_the_cell_its_source_and_the_error(tmp_path: Path) -> None:

    line = format_result(_results()[1], Workspace(tmp_path))
    assert "stage observe failed at cell [5]: DagRunFailed" in line
    assert "run = wb.run_dag(timeout=RUN_TIMEOUT)" in line
