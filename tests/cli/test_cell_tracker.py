"""Which cell runs: slow cells are logged with their first line of code when there is no terminal."""

from __future__ import annotations

import io

import pytest

from tutorial_lib.cli import cell_tracker
from tutorial_lib.cli.cell_tracker import CellTracker


def test_without_a_terminal_slow_cells_are_logged_with_their_first_code_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cell_tracker, "SLOW_CELL_SECONDS", 0.0)
    out = io.StringIO()
    with CellTracker("peer", out, live=False) as tracker:
        tracker.cell_started(3, "# NBVAL_CHECK_OUTPUT\nrun = wb.run_dag()\nprint(run)")
        tracker.cell_started(4, "x = 1")
        tracker.finished()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[peer]   cell 3 took 0 s: run = wb.run_dag()")
    assert lines[1].startswith("[peer]   cell 4 took 0 s: x = 1")
