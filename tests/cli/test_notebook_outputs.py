"""Comparing executed notebooks with the committed outputs, as nbval's lax mode does, without a kernel."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from tutorial_lib import stages
from tutorial_lib.cli import notebook_outputs, runner

# The stages' notebooks, and the closing one (the learner's own DAGs), whose outputs are stored the same way.
ALL_NOTEBOOKS = [*runner.stage_notebooks().values(), runner.NOTEBOOKS_DIR / stages.YOUR_DAGS_NOTEBOOK]


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


def test_published_outputs_replace_ports_run_ids_times_paths_and_literals() -> None:
    text = (
        "http://127.0.0.1:41234/runs/0b5c1f0e-1d2e-4f3a-9b8c-7d6e5f4a3b2c "
        "manual__2026-12-05T20:13:38.123+00:00 backfill__2026-01-02T00:00:00+00:00 "
        "at 2026-12-05 20:13:38, took 3.2 s, /srv/ws/data/customers.csv, password s3cret, "
        "at .workbench/project/dagster_defs/peer.py and ../.workbench/dags/x.py\n"
    )
    [stored] = notebook_outputs.published([_stdout(text)], literals={"s3cret": "<password>"})
    assert stored["text"] == (
        "http://127.0.0.1:<port>/runs/<run id> manual__<time> backfill__2026-01-02T00:00:00+00:00 "
        "at <time>, took <n> s, <workspace>/data/customers.csv, password <password>, "
        "at <workspace>/project/dagster_defs/peer.py and <workspace>/dags/x.py\n"
    )
    html = {**_result("x"), "data": {"text/html": "<a href='http://127.0.0.1:8080/home'>Airflow</a>"}}
    assert notebook_outputs.published([html])[0]["data"]["text/html"] == (
        "<a href='http://127.0.0.1:<port>/home'>Airflow</a>"
    )


# A machine's own folders, as they would appear in an output: the refresh replaces them by placeholders.
MACHINE_PATH = re.compile(r"(?<![\w.<>-])/(?:tmp|home|root|work|Users|var|opt|srv)/[\w.-]")


def _texts(cell: nbformat.NotebookNode) -> list[str]:
    texts = []
    for output in cell.get("outputs", []):
        values = [output.get("text", "")] + [
            value for key, value in output.get("data", {}).items() if key in notebook_outputs.TEXT_KEYS
        ]
        texts += ["".join(v) if isinstance(v, list) else v for v in values if isinstance(v, str | list)]
    return texts


@pytest.mark.parametrize("notebook", ALL_NOTEBOOKS, ids=lambda p: p.name)
def test_committed_outputs_hold_no_ports_paths_times_or_run_ids(notebook: Path) -> None:
    for number, cell in enumerate(
        c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"
    ):
        for text in _texts(cell):
            where = f"{notebook.name}, code cell {number + 1}"
            assert notebook_outputs.published([_stdout(text)])[0]["text"] == text, (
                f"{where} varies: {text[:300]}"
            )
            assert not MACHINE_PATH.search(text), f"{where} holds a machine path: {MACHINE_PATH.search(text)}"
            assert ".workbench" not in text, where


@pytest.mark.parametrize("notebook", ALL_NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebooks_store_the_outputs_a_reader_follows(notebook: Path) -> None:
    cells = [c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]
    bare = [
        c.source.splitlines()[0]
        for c in cells
        if not c.outputs and "parameters" not in c.metadata.get("tags", [])
    ]
    assert bare == [], (
        f"{notebook.name}: code cells with no stored output (run tools/refresh_notebook_outputs.py)"
    )


def test_the_sanitizer_hides_ports_run_ids_durations_and_paths(tmp_path: Path) -> None:
    def line(port: int, run: str, seconds: str, root: str) -> str:
        return f"http://127.0.0.1:{port}/ {run} took {seconds} s, wrote {root}/data/customers.csv\n"

    committed = _notebook(
        tmp_path,
        "a.ipynb",
        [
            (
                "# NBVAL_CHECK_OUTPUT",
                [_stdout(line(8080, "manual__2026-01-01T08:01:02+00:00", "3.2", "/a/b"))],
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


def test_a_run_id_of_today_is_stored_as_its_placeholder_and_a_bare_date_of_today_as_today() -> None:
    text = "manual__2026-12-05T23:57:23.769201+00:00: success; next tick 2026-12-05\n"
    [stored] = notebook_outputs.published([_stdout(text)], dates={"2026-12-05": "<today>"})
    assert stored["text"] == "manual__<time> success; next tick <today>\n"


def test_the_closing_notebook_is_what_its_tool_writes() -> None:
    import sys

    sys.path.insert(0, str(runner.NOTEBOOKS_DIR.parent / "tools"))
    import your_dags_notebook

    built = [(cell.cell_type, cell.source) for cell in your_dags_notebook.build().cells]
    committed = nbformat.read(ALL_NOTEBOOKS[-1], as_version=4).cells
    assert built == [(cell.cell_type, cell.source) for cell in committed], "run tools/your_dags_notebook.py"
