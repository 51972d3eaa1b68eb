"""What a learner reads and writes: definitions free of workbench code, verdicts instead of asserts,
exercises, code shown in full or as diffs, and committed outputs that hold nothing machine-specific."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from tutorial_lib.cli import notebook_outputs, runner
from tutorial_lib.notebook import proofs, show
from tutorial_lib.notebook.verdict import Check, ProofFailed, Verdict, prove

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = list(runner.stage_notebooks().values())


def _code_cells(path: Path) -> list[nbformat.NotebookNode]:
    return [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


def _tags(cell: nbformat.NotebookNode) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


# ---- the learner's code


@pytest.mark.parametrize("module", sorted((REPO / "dagster_defs").glob("*.py")), ids=lambda p: p.name)
def test_definitions_import_nothing_from_the_workbench(module: Path) -> None:
    imported = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "tutorial_lib" not in imported


def test_the_airflow_instance_without_its_environment_names_the_missing_setting() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    done = subprocess.run(
        [sys.executable, "-c", "import dagster_defs.airflow_instance"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "Set AIRFLOW_WEBSERVER_URL where Dagster's code location runs" in done.stderr


def test_the_airflow_instance_reads_address_and_login_from_the_environment() -> None:
    env = {
        **os.environ,
        "AIRFLOW_WEBSERVER_URL": "http://127.0.0.1:1/",
        "AIRFLOW_USERNAME": "someone",
        "AIRFLOW_PASSWORD": "not-a-secret",
    }
    script = (
        "from dagster_defs.airflow_instance import airflow_instance as a; "
        "print(a.name, a.auth_backend.get_webserver_url(), a.auth_backend.username)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.split() == ["airflow", "http://127.0.0.1:1/", "someone"], done.stderr[-2000:]


def test_a_stage_can_be_shown_as_the_diff_from_the_previous_one_solved_without_markers() -> None:
    diff = repr(show.changes("observe", "partitions"))
    assert diff.startswith("--- dagster_defs/observe.py\n+++ dagster_defs/partitions.py")
    assert re.search(r"^\+ +partitions_def=daily_partitions,$", diff, re.M)
    assert "# >>>" not in diff and "# <<<" not in diff and "TODO" not in diff
    assert show.changes("observe", "partitions")._repr_markdown_().startswith("```diff\n")


def test_an_exercise_is_shown_as_its_todos_in_the_starter_without_the_solution() -> None:
    text = repr(show.exercise("partitions"))
    assert text.startswith("# project/dagster_defs/partitions.py\n")
    assert "# TODO (partitions): One partition per day" in text and "daily_partitions = None" in text
    assert "DailyPartitionsDefinition(start_date=" not in text


def test_an_excerpt_shows_exactly_the_named_definitions() -> None:
    text = repr(show.excerpt("assets", "load_csv_asset"))
    assert "def load_csv_asset(" in text and "@multi_asset" in text
    assert "def export_csv_asset(" not in text


def test_the_dag_tail_and_the_yaml_show_what_airflow_reads(tmp_path: Path) -> None:
    from tutorial_lib import learner_project
    from tutorial_lib.workspace import REPO_ROOT, Workspace

    ws = Workspace(tmp_path / "ws").ensure()
    assert "# TODO (migrate): Last in the file" in repr(show.dag_tail(ws))
    assert "dagster-airlift proxy scaffold" in repr(show.proxied_state(ws))
    learner_project.DAGS.install(ws.dags_dir, solved=lambda region: True)
    ws.proxied_state_dir.mkdir()
    shutil.copy(
        REPO_ROOT / "airflow_dags" / "proxied_state" / "rebuild_customers_list.yaml", ws.proxied_state_dir
    )
    tail = repr(show.dag_tail(ws))
    assert "proxying_to_dagster(" in tail and "load_proxied_state_from_yaml(" in tail and "# >>>" not in tail
    yaml_text = repr(show.proxied_state(ws))
    assert yaml_text.count("proxied: false") == 3 and str(tmp_path) not in yaml_text


# ---- verdicts


def test_a_verdict_shows_each_check_and_what_a_failure_expected() -> None:
    verdict = Verdict("Example", (Check("assets", 10, 10), Check("materialized", 9, 8)))
    text = repr(verdict)
    assert text.splitlines()[0] == "✘ Example: 1 of 2 not as expected"
    assert "✔ assets" in text and "✘ materialized" in text and "(expected 9)" in text
    assert "✘" in verdict._repr_html_() and "expected instead" in verdict._repr_html_()


def test_a_verdict_with_everything_as_expected_has_no_expected_instead_column() -> None:
    verdict = Verdict("Example", (Check("assets", 10, 10), Check("materialized", 9, 9)))
    assert repr(verdict).splitlines()[0] == "✔ Example: as expected"
    page = verdict._repr_html_()
    assert "expected instead" not in page and page.count("</th>") == 3 and page.count("</td>") == 6


def test_a_failing_check_fails_the_cell_naming_what_was_found_and_expected(capsys) -> None:
    with pytest.raises(ProofFailed, match=r"Example: materialized: found 8, expected 9"):
        prove("Example", [Check("assets", 10, 10), Check("materialized", 9, 8)])
    assert "✘ materialized" in capsys.readouterr().out


def test_an_unsolved_exercise_shows_a_hint_instead_of_failing(capsys) -> None:
    prove("Exercise", [Check("done", True, False)], required=False, hint="Do the thing.")
    assert "Not solved yet. Do the thing." in capsys.readouterr().out


def test_the_peer_exercise_is_not_solved_until_a_new_run_exists(capsys) -> None:
    stub = SimpleNamespace(airflow=SimpleNamespace(dag_runs=lambda dag_id: [{"dag_run_id": "a"}]), show=False)
    proofs.exercise_new_run_observed(stub, runs_before=1, required=False)
    assert "Not solved yet" in capsys.readouterr().out
    with pytest.raises(ProofFailed, match="new DAG runs since the exercise started: found 0, expected 1"):
        proofs.exercise_new_run_observed(stub, runs_before=1, required=True)


# ---- the notebooks as documents


def _text(cell) -> str:
    """A code cell's stored output as text: its streams and its displays' plain text."""
    return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs)


def _body(cell) -> list[ast.stmt]:
    """A code cell's statements, after its `%%when_checked` line if it has one."""
    source = cell.source.split("\n", 1)[1] if cell.source.startswith("%%when_checked") else cell.source
    return ast.parse(source).body


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_proof_cells_are_verdicts_not_assert_walls(notebook: Path) -> None:
    cells = _code_cells(notebook)
    assert not [c.source for c in cells if re.search(r"^\s*assert\b", c.source, re.M)]
    assert not [c.source for c in cells if "NBVAL_" in c.source], "nbval markers are cell tags now"
    proofs_cells = [c for c in cells if notebook_outputs.checked(c, solved=True)]
    assert len(proofs_cells) >= 3
    for cell in proofs_cells:  # each proof cell is calls of proofs.*, after at most one statement of set-up
        body = _body(cell)
        proof_calls = [n for n in body if ast.unparse(n).startswith("proofs.")]
        assert proof_calls and body[len(body) - len(proof_calls) :] == proof_calls, cell.source
        assert len(body) - len(proof_calls) <= 1, cell.source


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_every_stage_has_the_learner_write_code_and_check_it_with_no_solution_in_a_cell(
    notebook: Path,
) -> None:
    from tutorial_lib import stages

    stage = stages.get(notebook.stem.split("_", 1)[1])
    cells = _code_cells(notebook)
    parameters = next(c for c in cells if "parameters" in _tags(c))
    assert "SOLUTIONS = False" in parameters.source
    checks = [c for c in cells if "wb.check(" in c.source]
    asked = {ast.literal_eval(ast.unparse(_body(c)[-1].value.args[0])) for c in checks}
    assert stage.name in asked and asked <= set(stages.definitions_names())
    for cell in checks:  # stored: the learner's first view, "not done yet"; compared by nbval
        assert {"exercise", "nbval-check-output"} <= set(_tags(cell)), cell.source
        assert "not done yet" in _text(cell), cell.source
    for cell in cells:  # a SOLUTIONS branch only calls for the solution kept out of sight
        for node in ast.walk(ast.Module(body=_body(cell), type_ignores=[])):
            if isinstance(node, ast.If) and ast.unparse(node.test) == "SOLUTIONS":
                calls = [ast.unparse(n) for n in node.body]
                assert all(
                    c.startswith(("wb.use_solution(", "proofs.answers.")) or "proofs.answers." in c
                    for c in calls
                ), cell.source
    committed = "".join(_text(c) for c in cells if "exercise" in _tags(c))
    assert "passed" not in committed.lower().replace("not passed", "")
    assert any(notebook_outputs.checked(c) and "required=SOLUTIONS" in c.source for c in cells)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_every_stage_says_once_where_your_code_is_and_what_differs_from_a_plain_set_up(
    notebook: Path,
) -> None:
    from tutorial_lib import stages

    stage = stages.get(notebook.stem.split("_", 1)[1])
    notes = [
        c.source
        for c in nbformat.read(notebook, as_version=4).cells
        if c.cell_type == "markdown" and "What differs from a plain set-up" in c.source
    ]
    assert len(notes) == 1 and notes[0].startswith("<details>") and notes[0].rstrip().endswith("</details>")
    assert f"project/dagster_defs/{stage.definitions[0]}" in notes[0]
    assert "wb.solution()" in notes[0] and "wb.use_solution()" in notes[0] and "Reload" in notes[0]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_every_stage_ends_with_a_recap_and_how_to_apply_it(notebook: Path) -> None:
    text = "\n".join(
        c.source for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "markdown"
    )
    assert "## Recap" in text or "## The migration is done" in text
    assert "## Apply it to your own project" in text


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_outputs_are_kept_for_reading_and_hold_nothing_machine_specific(notebook: Path) -> None:
    kept = [c for c in _code_cells(notebook) if c.outputs]
    assert kept and all(c.outputs for c in kept if notebook_outputs.kept(c)), "run `make refresh`"
    stored = nbformat.writes(
        nbformat.from_dict({"cells": kept, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    machine_specific = (
        r"127\.0\.0\.1:\d+",  # a port
        r'"/(tmp|root|home|work)/',  # a path
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d",  # a time
        r"\(\d+(\.\d+)? s\)",  # a duration, as progress lines print it
    )
    for pattern in machine_specific:
        assert not re.search(pattern, stored), pattern
    assert "Traceback" not in stored and '"output_type": "error"' not in stored


def test_a_headless_run_solves_the_exercises() -> None:
    assert runner.DEFAULT_PARAMETERS == {"SOLUTIONS": True}


def test_airflow_counts_as_serving_a_dag_level_change_only_with_the_right_tasks() -> None:
    from tutorial_lib.notebook.workbench import (
        DAG_PROXY_OPERATOR,
        PROXY_OPERATOR,
        _serves_dag_level,
        override_task,
    )

    override = override_task("d")
    proxied, own = _serves_dag_level("d", True), _serves_dag_level("d", False)
    assert proxied({override: DAG_PROXY_OPERATOR})
    assert not proxied({override: "DefaultProxyDAGToDagsterOperator"})  # not the DAG file's operator
    assert not proxied({"a": "PythonOperator"})
    assert own({"a": "PythonOperator", "b": "BashOperator"})
    assert not own({override: DAG_PROXY_OPERATOR})
    assert not own({"a": PROXY_OPERATOR})  # a task still proxied
    assert not own({})


def test_side_by_side_shows_both_sources_as_html_and_as_text() -> None:
    left, right = show.code("a = 1 < 2"), show.code("key: value", "yaml")
    both = show.side_by_side(left, right)
    assert repr(both) == "a = 1 < 2\n\nkey: value"
    assert both._repr_html_().count("<td") == 2 and "a = 1 &lt; 2" in both._repr_html_()


def test_the_component_folder_is_shown_as_a_tree_without_caches() -> None:
    tree = repr(show.folder("dagster_defs/component")).splitlines()
    assert tree[0] == "dagster_defs/component/"
    assert "        airflow/" in tree and "            defs.yaml" in tree
    assert not any("__pycache__" in line or line.endswith(".pyc") for line in tree)


def test_an_excerpt_can_come_from_any_python_file_of_the_repository() -> None:
    text = repr(show.excerpt("customers_pipeline/operators.py", "PatientProxyDAGToDagsterOperator"))
    assert text.startswith("# customers_pipeline/operators.py (excerpt)")
    assert "def build_from_dag" in text and "class PatientProxyToDagsterOperator" not in text


def test_a_code_location_error_shows_its_causes() -> None:
    from tutorial_lib.clients.dagster import _error_with_causes

    error = {
        "message": "Error loading\n",
        "causes": [{"message": "ComponentTreeException"}, {"message": "KeyError"}],
    }
    assert (
        _error_with_causes(error) == "Error loading\nCaused by: ComponentTreeException\nCaused by: KeyError"
    )
    assert _error_with_causes({"message": "alone", "causes": None}) == "alone"


def test_a_code_location_error_names_the_line_of_the_projects_own_file_not_the_workbenchs() -> None:
    from tutorial_lib.clients.dagster import _error_with_causes
    from tutorial_lib.workspace import REPO_ROOT

    def frame(path: str, line: int, code: str) -> str:
        return f'  File "{path}", line {line}, in <module>\n    {code}\n'

    error = {
        "message": "Error occurred during the loading of Dagster definitions",
        "stack": [
            frame(f"{REPO_ROOT}/tutorial_lib/in_dagster/loader.py", 38, "return import_module(x).defs")
        ],
        "causes": [
            {
                "message": "NameError: name 'this' is not defined",
                "stack": [
                    frame(
                        "/usr/lib/python3.11/importlib/__init__.py", 126, "return _bootstrap._gcd_import()"
                    ),
                    frame(f"{REPO_ROOT}/dagster_defs/observe.py", 44, "this is not python"),
                    frame(f"{REPO_ROOT}/.venv/lib/python3.11/site-packages/dagster/x.py", 3, "raise"),
                ],
            }
        ],
    }
    assert _error_with_causes(error).endswith(
        "Caused by: NameError: name 'this' is not defined\n"
        "Where: dagster_defs/observe.py, line 44: this is not python"
    )
    error["causes"][0]["stack"][1] = frame("/home/ada/ws/project/dagster_defs/observe.py", 44, "this is")
    assert _error_with_causes(error).endswith("Where: project/dagster_defs/observe.py, line 44: this is")
    error["causes"][0]["stack"] = error["causes"][0]["stack"][:1]
    assert "Where:" not in _error_with_causes(error)  # only the workbench's and the libraries' frames
