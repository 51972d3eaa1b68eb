"""Proxied-state YAML: reading, validated changes, clear errors that leave the file untouched."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tutorial_lib.notebook import proxied_state
from tutorial_lib.notebook.proxied_state import ProxiedStateError
from tutorial_lib.workspace import REPO_ROOT

DAG = "rebuild_customers_list"
TASKS = ["load_raw_customers", "build_dbt_models", "export_customers"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(REPO_ROOT / "airflow_dags" / "proxied_state" / f"{DAG}.yaml", tmp_path)
    return tmp_path


def test_the_committed_state_proxies_nothing(folder: Path) -> None:
    assert proxied_state.read(folder, DAG) == dict.fromkeys(TASKS, False)


def test_update_changes_only_the_named_tasks_and_keeps_order(folder: Path) -> None:
    new = proxied_state.update(folder, DAG, {"build_dbt_models": True}, known_tasks=TASKS)
    assert new == {"load_raw_customers": False, "build_dbt_models": True, "export_customers": False}
    assert proxied_state.read(folder, DAG) == new


def test_the_written_file_is_what_dagster_airlift_reads(folder: Path) -> None:
    from dagster_airlift.in_airflow.proxied_state import load_proxied_state_from_yaml

    proxied_state.update(folder, DAG, {"export_customers": True})
    state = load_proxied_state_from_yaml(folder)
    assert state.get_task_proxied_state(dag_id=DAG, task_id="export_customers") is True
    assert state.get_task_proxied_state(dag_id=DAG, task_id="build_dbt_models") is False


def test_an_unknown_task_is_refused_naming_the_real_tasks_and_the_file_is_unchanged(folder: Path) -> None:
    before = (folder / f"{DAG}.yaml").read_text()
    with pytest.raises(ProxiedStateError, match="Unknown task id\\(s\\) run_dbt_model.*build_dbt_models"):
        proxied_state.update(
            folder, DAG, {"run_dbt_model": True, "export_customers": True}, known_tasks=TASKS
        )
    assert (folder / f"{DAG}.yaml").read_text() == before


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("tasks: [{id: a, proxied: true]", "not valid YAML"),
        ("- id: a\n", "must be a mapping with a list under `tasks:`"),
        ("tasks:\n  - proxied: true\n", "task entry 1 needs an `id:`"),
        (
            "tasks:\n  - id: a\n    proxied: yes please\n",
            "task 'a' needs `proxied: true` or `proxied: false`",
        ),
        ("tasks:\n  - id: a\n    proxied: true\n  - id: a\n    proxied: false\n", "listed twice"),
    ],
)
def test_a_malformed_file_is_named_with_the_fix_and_left_as_it_is(
    folder: Path, text: str, problem: str
) -> None:
    path = folder / f"{DAG}.yaml"
    path.write_text(text)
    with pytest.raises(ProxiedStateError, match=problem) as error:
        proxied_state.update(folder, DAG, {"a": True})
    assert "airlift-tutorial reset" in str(error.value)
    assert path.read_text() == text


def test_a_missing_file_says_how_to_restore_it(tmp_path: Path) -> None:
    with pytest.raises(ProxiedStateError, match="no proxied-state file.*reset"):
        proxied_state.read(tmp_path, DAG)


@pytest.mark.parametrize("proxied", [True, False])
def test_a_dag_level_file_is_what_dagster_airlift_reads_as_a_whole_dag(folder: Path, proxied: bool) -> None:
    from dagster_airlift.in_airflow.proxied_state import load_proxied_state_from_yaml

    assert proxied_state.read_dag_level(folder, DAG) is None  # the committed file lists tasks
    proxied_state.write_dag_level(folder, DAG, proxied)
    assert proxied_state.read_dag_level(folder, DAG) is proxied
    state = load_proxied_state_from_yaml(folder)
    assert state.dag_proxies_at_dag_level(DAG) and state.dags[DAG].proxied is proxied
    assert not list(folder.glob("*.tmp"))


def test_task_steps_refuse_a_dag_level_file_and_say_why(folder: Path) -> None:
    proxied_state.write_dag_level(folder, DAG, True)
    before = proxied_state.state_file(folder, DAG).read_text()
    with pytest.raises(
        ProxiedStateError, match=r"proxies the whole DAG \(`proxied: true`\), not task by task"
    ):
        proxied_state.update(folder, DAG, {"build_dbt_models": True})
    assert proxied_state.state_file(folder, DAG).read_text() == before


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("proxied: true\ntasks: []\n", "either `proxied: true|false`"),
        ("{}\n", "either `proxied: true|false`"),
        ("proxied: yes please\n", "must be true or false, got 'yes please'"),
        ("tasks:\n  - id: x\n    proxied: maybe\n", "needs `proxied: true` or `proxied: false`"),
    ],
)
def test_a_bad_dag_level_file_is_named_with_the_fix(folder: Path, text: str, problem: str) -> None:
    proxied_state.state_file(folder, DAG).write_text(text)
    with pytest.raises(ProxiedStateError, match=re.escape(problem)) as caught:
        proxied_state.read_dag_level(folder, DAG)
    assert "airlift-tutorial reset" in str(caught.value)


def test_a_dag_level_flag_must_be_a_bool_and_nothing_is_written_otherwise(folder: Path) -> None:
    before = proxied_state.state_file(folder, DAG).read_text()
    with pytest.raises(ProxiedStateError, match="True or False"):
        proxied_state.write_dag_level(folder, DAG, "yes")  # type: ignore[arg-type]
    assert proxied_state.state_file(folder, DAG).read_text() == before
