"""Stage 3's upstream caveats, without services: `airflow db clean`'s keep-last rule as the proofs predict it,
and what the proofs show of it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from tutorial_lib.notebook import proofs
from tutorial_lib.notebook.proofs.caveats import RunRecord, first_line, kept_by_db_clean, remembered_runs
from tutorial_lib.notebook.verdict import ProofFailed
from tutorial_lib.workspace import Workspace, WorkspaceError

CUTOFF = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _run(run_id: str, started: str | None, *, by_hand: bool, dag_id: str = "d", tasks: int = 3) -> RunRecord:
    return RunRecord(
        dag_id=dag_id,
        run_id=run_id,
        run_type="manual" if by_hand else "backfill",
        external_trigger=by_hand,
        logical_date=f"2026-03-0{run_id[-1]}T00:00:00+00:00",
        start_date=started,
        task_instances=tasks,
    )


def _ids(runs: list[RunRecord]) -> list[str]:
    return [run.run_id for run in runs]


def test_db_clean_keeps_only_the_newest_run_not_triggered_by_hand_of_runs_older_than_the_cutoff() -> None:
    runs = [
        _run("manual_1", "2026-03-10T10:00:00+00:00", by_hand=True),
        _run("backfill_2", "2026-03-10T10:05:00+00:00", by_hand=False),
        _run("backfill_3", "2026-03-10T10:10:00+00:00", by_hand=False),
        _run("manual_4", "2026-03-10T10:20:00+00:00", by_hand=True),  # newer, but triggered by hand
    ]
    assert _ids(kept_by_db_clean(runs, CUTOFF)) == ["backfill_3"]


def test_db_clean_keeps_no_run_of_a_dag_whose_runs_were_all_triggered_by_hand() -> None:
    runs = [_run("manual_1", "2026-03-10T10:00:00+00:00", by_hand=True)]
    assert kept_by_db_clean(runs, CUTOFF) == []


def test_db_clean_keeps_the_newest_per_dag_and_every_run_not_older_than_the_cutoff() -> None:
    runs = [
        _run("backfill_1", "2026-03-10T10:00:00+00:00", by_hand=False, dag_id="a"),
        _run("backfill_2", "2026-03-10T09:00:00+00:00", by_hand=False, dag_id="b"),
        _run("manual_3", "2026-03-10T12:00:00+00:00", by_hand=True, dag_id="a"),  # at the cut-off: not older
        _run("manual_4", None, by_hand=True, dag_id="a"),  # not started: no age to compare
    ]
    assert _ids(kept_by_db_clean(runs, CUTOFF)) == ["backfill_1", "backfill_2", "manual_3", "manual_4"]


def test_a_run_is_shown_by_type_and_day_not_by_anything_that_varies_between_runs() -> None:
    assert (
        _run("backfill_5", "2026-12-05T20:17:33.839544+00:00", by_hand=False).label
        == "backfill of 2026-03-05"
    )


def test_an_error_is_shown_as_its_first_line_shortened() -> None:
    assert first_line("\n  Expected logical date x\nTraceback ...") == "Expected logical date x"
    assert len(first_line("y" * 500)) == 200


def _workbench(tmp_path: Path, runs_now: list[RunRecord]) -> SimpleNamespace:
    """A workbench whose Airflow answers with `runs_now` (REST fields), each with its task instances."""
    by_id = {run.run_id: run for run in runs_now}
    airflow = SimpleNamespace(
        dag_runs=lambda dag_id: [
            {
                "dag_id": run.dag_id,
                "dag_run_id": run.run_id,
                "run_type": run.run_type,
                "external_trigger": run.external_trigger,
                "logical_date": run.logical_date,
                "start_date": run.start_date,
            }
            for run in runs_now
        ],
        dag_run=lambda dag_id, run_id: SimpleNamespace(tasks=[{}] * by_id[run_id].task_instances),
    )
    return SimpleNamespace(workspace=Workspace(tmp_path / "ws").ensure(), airflow=airflow, show=False)


BEFORE = [
    _run("manual_1", "2026-03-10T10:00:00+00:00", by_hand=True),
    _run("manual_2", "2026-03-10T10:05:00+00:00", by_hand=True),
    _run("backfill_5", "2026-03-10T10:10:00+00:00", by_hand=False),
]


def test_the_proof_of_db_clean_passes_on_what_airflow_leaves_after_it(tmp_path: Path, capsys) -> None:
    wb = _workbench(tmp_path, BEFORE)
    proofs.remember_runs(wb, CUTOFF.isoformat())
    wb.airflow = _workbench(
        tmp_path, [_run("backfill_5", BEFORE[2].start_date, by_hand=False, tasks=0)]
    ).airflow
    proofs.db_clean_kept(wb)
    shown = capsys.readouterr().out
    assert "backfill of 2026-03-05" in shown and "✘" not in shown
    table = proofs.runs_before_and_after(wb)
    assert list(table["now"]) == ["deleted", "deleted", "kept"]
    assert list(table["task instances now"]) == ["-", "-", 0]


def test_the_proof_of_db_clean_fails_when_a_run_triggered_by_hand_survives(tmp_path: Path) -> None:
    wb = _workbench(tmp_path, BEFORE)
    proofs.remember_runs(wb, CUTOFF.isoformat())  # and no clean-up: every run is still there
    with pytest.raises(ProofFailed, match="runs triggered by hand"):
        proofs.db_clean_kept(wb)


def test_the_runs_before_a_clean_up_are_remembered_across_a_kernel_restart(tmp_path: Path) -> None:
    wb = _workbench(tmp_path, BEFORE)
    with pytest.raises(WorkspaceError, match="run the `airflow db clean` cell above first"):
        remembered_runs(wb)
    proofs.remember_runs(wb, CUTOFF.isoformat())
    again = SimpleNamespace(workspace=Workspace(tmp_path / "ws"))  # a new kernel: only the workspace
    assert remembered_runs(again) == (BEFORE, CUTOFF)
