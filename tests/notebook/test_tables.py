"""The notebooks' tables: readable as text and HTML, and no pandas in the kernel (it costs about 45 MB)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tutorial_lib.notebook.tables import Table
from tutorial_lib.workspace import REPO_ROOT

ROWS = [
    {"task": "load_raw_customers", "proxied": True, "Dagster run": "1a2b3c4d", "delay (s)": 0.5},
    {"task": "build_dbt_models", "proxied": False, "Dagster run": None, "delay (s)": 12.25},
]


def test_a_table_prints_as_aligned_columns_with_empty_cells_for_missing_values() -> None:
    assert repr(Table(ROWS)).splitlines() == [
        "task                proxied  Dagster run  delay (s)",
        "load_raw_customers  True     1a2b3c4d     0.5",
        "build_dbt_models    False                 12.25",
    ]


def test_a_table_shows_as_an_html_table_with_its_text_escaped() -> None:
    shown = Table([{"a<b": "x & y"}])._repr_html_()
    assert shown.startswith('<table class="dataframe">')
    assert "<th>a&lt;b</th>" in shown and "<td>x &amp; y</td>" in shown


def test_columns_are_selected_by_name_and_an_unknown_one_is_named_in_the_error() -> None:
    table = Table(ROWS)
    assert table["task"] == ["load_raw_customers", "build_dbt_models"]
    assert table[["task", "proxied"]].columns == ["task", "proxied"]
    assert list(table[["proxied"]]) == [{"proxied": True}, {"proxied": False}]
    with pytest.raises(KeyError, match="No column 'state'.*the columns are"):
        table["state"]


def test_an_empty_table_says_it_has_no_rows() -> None:
    assert repr(Table([], ["task"])) == "task\n(no rows)"
    assert len(Table([])) == 0


def test_a_table_converts_to_pandas_for_analysis() -> None:
    frame = Table(ROWS).to_pandas()
    assert list(frame.columns) == ["task", "proxied", "Dagster run", "delay (s)"]
    assert frame["delay (s)"].sum() == pytest.approx(12.75)


def test_the_notebooks_and_their_tables_never_import_pandas() -> None:
    for notebook in sorted((REPO_ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            assert "pandas" not in "".join(cell["source"]), notebook.name
    # Everything a notebook imports, and the tables it shows, in a fresh interpreter.
    probe = (
        "import sys, tutorial_lib as t\n"
        "from tutorial_lib import proofs, show, ui, views\n"
        "from tutorial_lib.notebook import workbench, tables\n"
        "repr(tables.Table([{'a': 1}])); tables.Table([{'a': 1}])._repr_html_()\n"
        "print('pandas' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
