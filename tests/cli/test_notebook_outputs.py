"""Comparing executed notebooks with the committed outputs, as nbval's lax mode does, without a kernel."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tutorial_lib.cli import notebook_outputs, runner


def _notebook(tmp_path: Path, name: str, cells: list[tuple[str, list, list[str]]]) -> Path:
    notebook = nbformat.v4.new_notebook()
    for number, (source, outputs, tags) in enumerate(cells):
        cell = nbformat.v4.new_code_cell(source, id=f"cell-{number}", metadata={"tags": tags})
        cell.outputs = [nbformat.from_dict(out) for out in outputs]
        notebook.cells.append(cell)
    path = tmp_path / name
    nbformat.write(notebook, path)
    return path


def _stdout(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


def _result(text: str) -> dict:
    return {
        "output_type": "execute_result",
        "execution_count": 1,
        "metadata": {},
        "data": {"text/plain": text},
    }


@pytest.mark.parametrize("notebook", list(runner.stage_notebooks().values()), ids=lambda p: p.name)
def test_a_committed_notebook_matches_itself_and_has_checked_cells(notebook: Path) -> None:
    cells = nbformat.read(notebook, as_version=4).cells
    assert sum(notebook_outputs.checked(cell) for cell in cells if cell.cell_type == "code") > 0
    assert notebook_outputs.compare(notebook, notebook) == []


def test_a_changed_checked_output_is_reported_with_a_diff(tmp_path: Path) -> None:
    committed = _notebook(
        tmp_path, "a.ipynb", [("# NBVAL_CHECK_OUTPUT\nprint(n)", [_stdout("10 assets\n")], [])]
    )
    executed = _notebook(
        tmp_path, "b.ipynb", [("# NBVAL_CHECK_OUTPUT\nprint(n)", [_stdout("9 assets\n")], [])]
    )
    [mismatch] = notebook_outputs.compare(committed, executed)
    assert mismatch.cell == 1 and "-10 assets" in mismatch.problem and "+9 assets" in mismatch.problem


def test_only_cells_marked_or_tagged_for_checking_are_compared(tmp_path: Path) -> None:
    cells = [
        ("x", [_result("1")], []),
        ("# NBVAL_IGNORE_OUTPUT\nx", [_result("2")], []),
        ("x", [_result("3")], ["nbval-check-output"]),
        ("x", [_result("4")], ["nbval-ignore-output"]),
    ]
    committed = _notebook(tmp_path, "a.ipynb", cells)
    executed = _notebook(tmp_path, "b.ipynb", [(src, [_result("changed")], tags) for src, _, tags in cells])
    assert [m.cell for m in notebook_outputs.compare(committed, executed)] == [3]


def test_the_sanitizer_hides_ports_run_ids_durations_and_paths(tmp_path: Path) -> None:
    def line(port: int, run: str, seconds: str, root: str) -> str:
        return f"http://127.0.0.1:{port}/ {run} took {seconds} s, wrote {root}/data/customers.csv\n"

    committed = _notebook(
        tmp_path,
        "a.ipynb",
        [
            (
                "# NBVAL_CHECK_OUTPUT",
                [_stdout(line(8080, "manual__2026-01-01T00:00:00+00:00", "3.2", "/a/b"))],
                [],
            )
        ],
    )
    executed = _notebook(
        tmp_path,
        "b.ipynb",
        [
            (
                "# NBVAL_CHECK_OUTPUT",
                [_stdout(line(41234, "manual__2026-11-22T10:11:12+00:00", "17", "/tmp/x"))],
                [],
            )
        ],
    )
    assert notebook_outputs.compare(committed, executed) == []
    assert notebook_outputs.compare(committed, executed, patterns=[]) != []


def test_a_missing_output_kind_or_cell_is_a_mismatch(tmp_path: Path) -> None:
    committed = _notebook(
        tmp_path, "a.ipynb", [("# NBVAL_CHECK_OUTPUT", [_stdout("ok\n"), _result("1")], [])]
    )
    executed = _notebook(tmp_path, "b.ipynb", [("# NBVAL_CHECK_OUTPUT", [_stdout("ok\n")], [])])
    assert "output kinds differ" in notebook_outputs.compare(committed, executed)[0].problem
    empty = _notebook(tmp_path, "c.ipynb", [])
    assert "not in the executed notebook" in notebook_outputs.compare(committed, empty)[0].problem
