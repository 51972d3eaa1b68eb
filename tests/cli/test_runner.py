"""The run-all report without services: stage selection, parameters, the summary table and files."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from tutorial_lib import cli
from tutorial_lib.cli import doctor, runner
from tutorial_lib.cli.runner import StageResult
from tutorial_lib.workspace import WorkspaceError

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
            activity=dict.fromkeys(runner.ACTIVITY),
        ),
    ]


def test_from_runs_the_named_stage_and_every_later_one() -> None:
    assert runner.select_stages(None, start="migrate") == ["migrate", "decommission"]
    assert runner.select_stages(["decommission", "peer"]) == ["peer", "decommission"]
    assert runner.select_stages(None) == ["peer", "observe", "partitions", "migrate", "decommission"]


def test_the_variants_run_with_all_or_when_named() -> None:
    everything = list(runner.stage_notebooks())
    assert runner.select_stages(None, variants=True) == everything
    assert runner.select_stages(["component", "peer"]) == ["peer", "component"]
    assert runner.select_stages(None, start="decommission", variants=True) == [
        "decommission",
        "dag_level",
        "component",
    ]
    assert runner.select_stages(None, start="dag_level") == ["dag_level"]


def test_a_list_and_from_together_or_an_unknown_stage_are_refused() -> None:
    with pytest.raises(WorkspaceError, match="either a list of stages or --from"):
        runner.select_stages(["peer"], start="observe")
    with pytest.raises(WorkspaceError, match="Unknown stage.*nope.*peer"):
        runner.select_stages(None, start="nope")


def test_parameters_are_json_values_or_strings_and_bad_pairs_name_the_form() -> None:
    assert runner.parse_parameters(["RUN_TIMEOUT=600", "DAY=2026-04-05", "X=[1]"]) == {
        "RUN_TIMEOUT": 600,
        "DAY": "2026-04-05",
        "X": [1],
    }
    with pytest.raises(WorkspaceError, match="NAME=VALUE"):
        runner.parse_parameters(["RUN_TIMEOUT"])


def test_the_table_has_a_row_per_stage_with_counts_and_a_total() -> None:
    table = runner.format_table(_results()).splitlines()
    assert table[0].split()[:4] == ["stage", "status", "wall", "time"]
    assert table[2].split() == ["peer", "passed", "61", "s", "2", "1", "10", "20", "1/2"]
    assert table[3].split() == ["observe", "failed", "12", "s", "-", "-", "-", "-", "-"]
    assert table[4].split() == ["total", "1/2", "passed", "73", "s"]


def test_summary_files_hold_every_result_and_the_failing_cell(tmp_path: Path) -> None:
    runner.write_summary(tmp_path, _results())
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert [entry["stage"] for entry in saved] == ["peer", "observe"]
    assert saved[0]["activity"]["materializations"] == 20
    markdown = (tmp_path / "summary.md").read_text()
    assert "| peer | passed | 61 s | 2 | 1 | 10 | 20 | 1/2 |" in markdown
    assert "## observe failed at cell 5" in markdown
    assert "run = wb.run_dag(timeout=RUN_TIMEOUT)" in markdown and "DagRunFailed" in markdown


def test_a_failed_stage_line_names_the_cell_its_source_and_the_error(tmp_path: Path) -> None:
    from tutorial_lib.workspace import Workspace

    line = runner.format_result(_results()[1], Workspace(tmp_path))
    assert "stage observe failed at cell [5]: DagRunFailed" in line
    assert "run = wb.run_dag(timeout=RUN_TIMEOUT)" in line


def test_without_a_terminal_slow_cells_are_logged_with_their_first_code_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runner, "SLOW_CELL_SECONDS", 0.0)
    out = io.StringIO()
    with runner.CellTracker("peer", out, live=False) as tracker:
        tracker.cell_started(3, "# NBVAL_CHECK_OUTPUT\nrun = wb.run_dag()\nprint(run)")
        tracker.cell_started(4, "x = 1")
        tracker.finished()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[peer]   cell 3 took 0 s: run = wb.run_dag()")
    assert lines[1].startswith("[peer]   cell 4 took 0 s: x = 1")


def test_the_parser_knows_the_run_and_reset_options() -> None:
    parser = cli.build_parser()
    args = parser.parse_args(["run", "--from", "migrate", "-p", "RUN_TIMEOUT=5", "--keep-running"])
    assert (args.start, args.parameter, args.keep_running) == ("migrate", ["RUN_TIMEOUT=5"], True)
    assert parser.parse_args(["run", "--stage", "peer", "--stage", "migrate"]).stage == ["peer", "migrate"]
    assert parser.parse_args(["reset", "--stage", "migrate"]).stage == "migrate"
    with pytest.raises(SystemExit):
        parser.parse_args(["reset", "--stage", "nope"])


def test_doctor_fails_memory_for_too_many_learners_and_names_how_many_fit(capsys) -> None:
    assert cli.main(["doctor", "--no-services", "--learners", "100000", "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    by_name = {check["name"]: check for check in result["checks"]}
    assert not by_name["memory"]["passed"] and "at most" in by_name["memory"]["fix"]
    assert by_name["python"]["passed"] and by_name["packages"]["passed"], by_name
    assert "services" not in by_name


def test_doctor_passes_for_one_learner_without_services(capsys) -> None:
    checks = doctor.run_checks(1, None, services=False)
    assert [check.name for check in checks] == [
        "python",
        "packages",
        "jupyter kernel",
        "speed tunings",
        "memory",
        "disk",
        "cpu",
        "file permissions",
        "ui links",
    ]
    assert doctor.report(checks)["passed"], [check.line() for check in checks if not check.passed]


def test_the_notebook_kernel_is_registered_when_jupyter_has_none(tmp_path: Path) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    manager = KernelSpecManager(kernel_dirs=[str(tmp_path / "share" / "jupyter" / "kernels")])
    assert runner.ensure_kernel(prefix=str(tmp_path), manager=manager) is True
    spec = manager.get_kernel_spec(runner.KERNEL_NAME)
    assert spec.argv[0] == sys.executable and spec.display_name == runner.KERNEL_NAME
    assert runner.ensure_kernel(prefix=str(tmp_path), manager=manager) is False
