"""The learner's own DAGs: `assess` and `scaffold` on DAGs no one here wrote (Airflow's own example DAGs), the
rules that pick a recipe, the folder left as it was, and a scaffolded project peered live."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tutorial_lib import services
from tutorial_lib.cli import assess, peer_project, recipes, scaffold
from tutorial_lib.clients.airflow_readonly import AirflowReader, ReadOnlyError
from tutorial_lib.env_vars import OWNER as OWNER_ENV
from tutorial_lib.workspace import Workspace

# Found without importing Airflow here (that would write an airflow.cfg into ~/airflow).
EXAMPLES = Path(importlib.util.find_spec("airflow").submodule_search_locations[0]) / "example_dags"
QUICK_DAG = "tutorial_taskflow_api"  # three Python tasks, no outside services: runs anywhere


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under the folder with its size and modification time, to compare before and after."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
    }


@pytest.fixture(scope="module")
def examples_plan() -> dict:
    return assess.assess_folder(EXAMPLES)


def _dags_by_airflow(folder: Path) -> dict[str, str]:
    """DAG id -> file, as Airflow's own CLI lists the folder in a throw-away Airflow home (the reference)."""
    home = Path(os.environ.get("TMPDIR", "/tmp")) / f"airlift-dags-list-{os.getpid()}"
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home}/airflow.db"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    airflow_cli = str(Path(sys.executable).parent / "airflow")
    try:
        subprocess.run([airflow_cli, "db", "migrate"], env=env, capture_output=True, check=True, timeout=300)
        listed = subprocess.run(
            [airflow_cli, "dags", "list", "--subdir", str(folder), "--output", "json"],
            env=env, capture_output=True, text=True, check=True, timeout=300,
        )  # fmt: skip
    finally:
        shutil.rmtree(home, ignore_errors=True)
    dags = json.loads(listed.stdout.strip().splitlines()[-1])  # log lines come first
    return {dag["dag_id"]: Path(dag["fileloc"]).name for dag in dags}


def test_assess_reports_every_dag_that_airflows_own_cli_lists_for_its_examples(examples_plan: dict) -> None:
    reported = {dag["dag_id"] for dag in examples_plan["dags"]}
    listed = _dags_by_airflow(EXAMPLES)
    assert len(reported) >= 50 and reported <= set(listed)
    # Airflow's CLI has a database: DAG files that read it while they are parsed import there and not here,
    # and each is reported as an import error that says so.
    error_files = {error["file"] for error in examples_plan["import_errors"]}
    assert {listed[dag_id] for dag_id in set(listed) - reported} == error_files
    assert all("metadata database" in error["cause"] for error in examples_plan["import_errors"])


def test_every_example_task_gets_a_recipe_or_a_reason(examples_plan: dict) -> None:
    tasks = [task for dag in examples_plan["dags"] for task in dag["tasks"]]
    assert len(tasks) == examples_plan["counts"]["tasks"] >= 200
    for task in tasks:
        recipe = task["recipe"]
        assert (
            recipe["key"]
            and recipe["dagster"]
            and recipe["alone"] in (recipes.YES, recipes.NO, recipes.NOTHING)
        )
        if recipe["key"] == "no-recipe" or recipe["alone"] == recipes.NO:
            assert recipe["reason"], task
    keys = set(examples_plan["counts"]["recipes"])
    assert {"pipes-subprocess", "python-factory", "dag-level", "control-flow", "dagster-sensor"} <= keys
    mapped = [task for task in tasks if task["mapped"]]
    assert mapped and all(task["recipe"]["key"] == "dag-level" for task in mapped)


def test_assess_gives_schedules_partitions_and_datasets_per_dag(examples_plan: dict) -> None:
    by_id = {dag["dag_id"]: dag for dag in examples_plan["dags"]}
    daily = by_id["example_bash_operator"]
    assert daily["time_partitions"] and "0 0 * * *" in daily["time_partitions_why"]
    consumer = by_id["dataset_consumes_1_and_2"]
    assert not consumer["time_partitions"]
    assert consumer["schedule_datasets"] == ["s3://dag1/output_1.txt", "s3://dag2/output_1.txt"]
    producer = by_id["dataset_produces_1"]
    assert any("s3://dag1/output_1.txt" in task["outlets"] for task in producer["tasks"])
    assert by_id["example_dynamic_task_mapping"]["how_to_migrate"].startswith("DAG-level")


def test_assess_leaves_the_folder_and_the_learners_airflow_home_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    for name in ("example_bash_operator.py", "tutorial_taskflow_api.py", "example_python_operator.py"):
        shutil.copy(EXAMPLES / name, folder / name)
    home = tmp_path / "airflow-home"
    home.mkdir()
    monkeypatch.setenv("AIRFLOW_HOME", str(home))
    before = _tree(folder)
    result = assess.assess_folder(folder)
    assert {dag["dag_id"] for dag in result["dags"]} >= {"example_bash_operator", QUICK_DAG}
    assert _tree(folder) == before  # no __pycache__, nothing touched
    assert list(home.iterdir()) == []


def test_import_errors_are_listed_one_per_file_and_a_missing_provider_is_named(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "tutorial_taskflow_api.py", tmp_path / "fine.py")
    (tmp_path / "needs_provider.py").write_text(
        "from airflow import DAG\n"
        "from airflow.providers.snowflake.operators.snowflake import SnowflakeOperator\n"
    )
    (tmp_path / "broken.py").write_text("from airflow import DAG\nthis is not python (\n")
    result = assess.assess_folder(tmp_path)
    assert [dag["dag_id"] for dag in result["dags"]] == [QUICK_DAG]
    causes = {error["file"]: error["cause"] for error in result["import_errors"]}
    assert set(causes) == {"needs_provider.py", "broken.py"}
    assert "apache-airflow-providers-snowflake" in causes["needs_provider.py"]
    assert "SyntaxError" in causes["broken.py"]
    assert "needs_provider.py" in assess.table(result) and "broken.py" in assess.table(result)


def test_a_missing_folder_is_named_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(assess.AssessError, match="There is no folder"):
        assess.assess_folder(tmp_path / "nope")


@pytest.mark.parametrize(
    ("task", "key"),
    [
        (
            {"classes": ["airflow.operators.bash.BashOperator"], "bash_command": "dbt build --select x"},
            "dbt-assets",
        ),
        ({"classes": ["airflow.operators.bash.BashOperator"], "bash_command": "echo hi"}, "pipes-subprocess"),
        ({"classes": ["airflow.providers.cncf.kubernetes.operators.pod.KubernetesPodOperator"]}, "pipes-k8s"),
        ({"classes": ["KubernetesPodOperator"], "operator": "KubernetesPodOperator"}, "pipes-k8s"),  # REST
        ({"classes": ["airflow.operators.python.PythonOperator"], "mapped": True}, "dag-level"),
        (
            {"classes": ["mycompany.ops.LoadToWarehouse", "airflow.models.baseoperator.BaseOperator"]},
            "custom-factory",
        ),
        ({"classes": ["airflow.providers.slack.operators.slack.SlackAPIPostOperator"]}, "no-recipe"),
    ],
)
def test_a_recipe_is_chosen_from_the_operators_class_chain(task: dict, key: str) -> None:
    recipe = recipes.recipe_for({"operator": task["classes"][0], **task})
    assert recipe.key == key
    if key == "no-recipe":
        assert "SlackAPIPostOperator" in recipe.reason and "slack" in recipe.reason


def test_scaffold_writes_a_project_for_every_dag_and_task_and_loads_in_python(tmp_path: Path) -> None:
    into = tmp_path / "project"
    done = scaffold.scaffold(EXAMPLES, into)
    plan = done.plan
    assert (into / "definitions.py").is_file() and (into / "README.md").is_file()
    states = sorted(p.stem for p in (into / "proxied_state").glob("*.yaml"))
    assert states == sorted(dag["dag_id"] for dag in plan["dags"])
    sample = (into / "proxied_state" / f"{QUICK_DAG}.yaml").read_text()
    assert "proxied: false" in sample and "proxied: true" not in sample
    probe = (
        "import json, task_mappings; "
        "print(json.dumps({d: sorted(t) for d, t in task_mappings.TASK_ASSETS.items()}), "
        "len(task_mappings.mapped_assets))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=into, capture_output=True, text=True, check=True, timeout=120
    )
    mapping, _, count = loaded.stdout.strip().rpartition(" ")
    assert json.loads(mapping) == {
        d["dag_id"]: sorted(t["task_id"] for t in d["tasks"]) for d in plan["dags"]
    }
    assert count == "0"  # every TODO still empty
    compile((into / "definitions.py").read_text(), "definitions.py", "exec")


def test_scaffold_refuses_a_folder_holding_other_files_and_keeps_the_learners_edits(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(EXAMPLES / "tutorial_taskflow_api.py", dags)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    with pytest.raises(scaffold.ScaffoldError, match="did not write"):
        scaffold.scaffold(dags, theirs)
    assert sorted(p.name for p in theirs.iterdir()) == ["notes.txt"]
    into = tmp_path / "project"
    scaffold.scaffold(dags, into)
    (into / "task_mappings.py").write_text("# my mappings\n")
    again = scaffold.scaffold(dags, into)
    assert again.kept == ["task_mappings.py"] and "definitions.py" in again.written
    assert (into / "task_mappings.py").read_text() == "# my mappings\n"
    (into / "stray.py").write_text("")
    with pytest.raises(scaffold.ScaffoldError, match="stray.py"):
        scaffold.scaffold(dags, into)


def test_the_read_only_client_refuses_anything_but_a_read() -> None:
    reader = AirflowReader("http://127.0.0.1:9", "u", "p")
    with pytest.raises(ReadOnlyError, match="only reads"):
        reader.session.post("http://127.0.0.1:9/api/v1/dags/x/dagRuns", json={})


@pytest.mark.stage
def test_assess_reads_a_running_airflow_over_rest_and_changes_nothing_there(
    running: services.Services,
) -> None:
    client = running.airflow
    before = {
        dag["dag_id"]: (dag["is_paused"], len(client.dag_runs(dag["dag_id"]))) for dag in client.list_dags()
    }
    user, password = services.login(running.workspace)
    result = assess.assess_airflow(client.url, user, password)
    after = {
        dag["dag_id"]: (dag["is_paused"], len(client.dag_runs(dag["dag_id"]))) for dag in client.list_dags()
    }
    assert after == before
    by_id = {dag["dag_id"]: dag for dag in result["dags"]}
    dag = by_id["rebuild_customers_list"]
    assert {task["task_id"] for task in dag["tasks"]} == set(client.tasks("rebuild_customers_list"))
    assert all(task["recipe"]["key"] for task in dag["tasks"])
    with pytest.raises(assess.AssessError, match="refused the login"):
        assess.assess_airflow(client.url, user, "wrong-password")


@pytest.mark.stage
def test_a_scaffolded_project_of_the_examples_is_peered_live_one_asset_per_dag_and_a_run_mirrored(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    scaffold.scaffold(EXAMPLES, project)
    before = _tree(EXAMPLES)
    ws = Workspace(tmp_path / "ws").ensure()
    try:
        peered = peer_project.peer(project, ws, run=QUICK_DAG, show=False)
        assert peered.missing == [] and len(peered.dag_ids) >= 50
        # Airflow with a database imports the files `assess` lists as reading it: their DAGs come on top.
        assert len(peered.dag_assets) == len(peered.dag_ids) + len(peered.extra)
        assert peered.ran["state"] == "success" and peered.ran["asset"] == f"airflow/dag/{QUICK_DAG}"
    finally:
        services.down(ws)
    assert _processes_in(tmp_path) == []
    assert _tree(EXAMPLES) == before


def _processes_in(folder: Path) -> list[str]:
    """Processes that work in the folder or belong to a workspace in it (by their cwd and environment)."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "cwd"]):
        try:
            owner = proc.environ().get(OWNER_ENV, "")
        except psutil.Error:
            owner = ""
        if str(folder) in (proc.info["cwd"] or "") or str(folder) in owner:
            found.append(f"{proc.info['pid']}: {' '.join(proc.info['cmdline'] or [])[:80]}")
    return found


def test_datasets_that_would_share_an_asset_key_are_found_as_dagster_airlift_names_them() -> None:
    from dagster_airlift.core.load_defs import uri_to_asset_key

    for uri in ("s3://bucket/a/orders.csv", "postgres://db/schema.table", "file:///tmp/x.tar.gz", "plain"):
        assert recipes.dataset_asset_key(uri) == uri_to_asset_key(uri).to_user_string()
    dags = [
        {"schedule_datasets": ["s3://one/orders.csv"], "tasks": []},
        {"schedule_datasets": [], "tasks": [{"outlets": ["s3://two/orders.parquet"], "inlets": []}]},
        {"schedule_datasets": [], "tasks": [{"outlets": ["s3://two/customers.csv"], "inlets": []}]},
    ]
    assert recipes.dataset_key_collisions(dags) == {
        "orders": ["s3://one/orders.csv", "s3://two/orders.parquet"]
    }


def test_scaffold_leaves_datasets_out_only_when_two_would_share_an_asset_key(tmp_path: Path) -> None:
    examples = scaffold.scaffold(EXAMPLES, tmp_path / "examples")
    assert examples.plan["dataset_key_collisions"]
    assert "retrieve_datasets=False" in (tmp_path / "examples" / "definitions.py").read_text()
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(EXAMPLES / "tutorial_taskflow_api.py", dags)
    scaffold.scaffold(dags, tmp_path / "plain")
    assert "AirflowFilter" not in (tmp_path / "plain" / "definitions.py").read_text()


@pytest.mark.stage
def test_a_project_scaffolded_from_a_running_airflow_peers_it_and_matches_the_folders_scaffold(
    running: services.Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = running.airflow
    user, password = services.login(running.workspace)
    from_rest = tmp_path / "from-rest"
    scaffold.scaffold_from_airflow(client.url, user, password, from_rest)
    from_folder = tmp_path / "from-folder"
    monkeypatch.setenv(
        "AIRLIFT_TUTORIAL_HOME", str(running.workspace.home)
    )  # the tutorial's DAG file reads it
    scaffold.scaffold(running.workspace.dags_dir, from_folder)
    state = "proxied_state/rebuild_customers_list.yaml"
    # our YAML for a DAG read over REST is byte for byte what upstream's scaffold writes from the DagBag
    assert (from_rest / state).read_bytes() == (from_folder / state).read_bytes()
    env = {
        **os.environ,
        "AIRFLOW_WEBSERVER_URL": client.url,
        "AIRFLOW_USERNAME": user,
        "AIRFLOW_PASSWORD": password,
    }
    keys = "sorted(k.to_user_string() for k in definitions.defs.resolve_all_asset_keys())"
    probe = f"import definitions; print({keys})"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=from_rest, env=env, capture_output=True, text=True, timeout=300
    )
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert "airflow/dag/rebuild_customers_list" in loaded.stdout
    with pytest.raises(peer_project.PeerProjectError, match="which it peers itself"):
        peer_project.peer(from_rest, running.workspace)


def test_assess_and_scaffold_want_a_folder_or_an_airflow_url_and_say_so(
    capsys: pytest.CaptureFixture,
) -> None:
    from tutorial_lib.cli import main

    assert main(["assess"]) == 2
    assert main(["scaffold", str(EXAMPLES), "--airflow-url", "http://x", "--into", "/nonexistent"]) == 2
    assert capsys.readouterr().err.count("Name a DAG folder, or --airflow-url (not both).") == 2
