"""Unit tests for customers_pipeline: paths, CSV loading, dbt build/parse and CSV export (no services)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from customers_pipeline import logic, paths

RAW_CUSTOMER_COLUMNS = ["id", "first_name", "last_name"]
ASSET_NODES = {
    "seed.jaffle_shop.raw_orders",
    "seed.jaffle_shop.raw_payments",
    "model.jaffle_shop.stg_customers",
    "model.jaffle_shop.stg_orders",
    "model.jaffle_shop.stg_payments",
    "model.jaffle_shop.customers",
    "model.jaffle_shop.orders",
}


def assert_duckdb_unlocked(db_path: Path) -> None:
    """Fail unless another process can open the DuckDB file read-write (i.e. no connection is left open).

    A separate process is needed: inside one process DuckDB shares an already-open database instance,
    so an in-process connect would succeed even if we had leaked a connection.
    """
    probe = "import duckdb, sys; duckdb.connect(sys.argv[1]).close()"
    done = subprocess.run([sys.executable, "-c", probe, str(db_path)], capture_output=True, text=True)
    assert done.returncode == 0, f"{db_path} is still locked:\n{done.stderr}"


def load_raw_customers(db_path: Path) -> int:
    """Load the committed raw customers CSV into raw_data.raw_customers."""
    return logic.load_csv_to_duckdb(
        paths.SOURCE_RAW_CUSTOMERS_CSV, db_path, "raw_data", "raw_customers", RAW_CUSTOMER_COLUMNS
    )


def project_dir_entries() -> set[str]:
    """List everything inside the committed dbt project folder."""
    return {str(p.relative_to(paths.DBT_PROJECT_DIR)) for p in paths.DBT_PROJECT_DIR.rglob("*")}


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point AIRLIFT_TUTORIAL_HOME at an empty temporary workspace."""
    monkeypatch.setenv(paths.HOME_ENV_VAR, str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def built_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Load raw customers and run one full dbt build in a fresh workspace, shared by several tests."""
    home = tmp_path_factory.mktemp("built_home")
    before = project_dir_entries()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.HOME_ENV_VAR, str(home))
        load_raw_customers(paths.duckdb_path())
        built = logic.run_dbt_build(paths.DBT_PROJECT_DIR, paths.dbt_target_path(), paths.dbt_log_path())
        yield {
            "home": home,
            "built": built,
            "duckdb": paths.duckdb_path(),
            "target": paths.dbt_target_path(),
            "logs": paths.dbt_log_path(),
            "project_entries_before": before,
        }


def test_home_without_env_var_raises_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(paths.HOME_ENV_VAR, raising=False)
    with pytest.raises(RuntimeError, match=f"{paths.HOME_ENV_VAR} is not set.*export"):
        paths.duckdb_path()


def test_workspace_paths_live_under_home(workspace: Path) -> None:
    assert paths.home() == workspace.resolve()
    assert paths.duckdb_path() == workspace / "data" / "jaffle_shop.duckdb"
    assert paths.raw_customers_csv() == workspace / "data" / "raw_customers.csv"
    assert paths.customers_csv() == workspace / "data" / "customers.csv"
    assert paths.dbt_target_path() == workspace / "dbt" / "target"
    assert paths.dbt_log_path() == workspace / "dbt" / "logs"


def test_repo_paths_point_at_committed_files() -> None:
    assert (paths.DBT_PROJECT_DIR / "dbt_project.yml").is_file()
    assert (paths.DBT_PROJECT_DIR / "profiles.yml").is_file()
    assert paths.SOURCE_RAW_CUSTOMERS_CSV.is_file()


def test_committed_raw_customers_csv_loads_100_rows_and_releases_the_file(workspace: Path) -> None:
    db_path = paths.duckdb_path()
    assert load_raw_customers(db_path) == 100
    assert_duckdb_unlocked(db_path)
    with duckdb.connect(str(db_path), read_only=True) as con:
        ids = con.execute(
            "select min(id), max(id), count(distinct id) from raw_data.raw_customers"
        ).fetchone()
        types = dict(
            con.execute("select column_name, column_type from (describe raw_data.raw_customers)").fetchall()
        )
    assert ids == (1, 100, 100)
    assert types == {"id": "BIGINT", "first_name": "VARCHAR", "last_name": "VARCHAR"}


def test_loading_again_replaces_the_table_instead_of_appending(workspace: Path) -> None:
    db_path = paths.duckdb_path()
    load_raw_customers(db_path)
    assert load_raw_customers(db_path) == 100
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("select count(*) from raw_data.raw_customers").fetchone() == (100,)


@pytest.mark.parametrize(
    ("content", "bad_line", "problem"),
    [
        ("1,Ada,Lovelace\n2,Alan\n", 2, "expected 3 columns .* found 2"),
        ("1,Ada,Lovelace\n2,Alan,Turing,extra\n", 2, "expected 3 columns .* found 4"),
        (
            "1,Ada,Lovelace\n2,Alan,Turing\nthree,Grace,Hopper\n",
            3,
            "column 'id' must be an integer, got 'three'",
        ),
    ],
    ids=["too-few-columns", "too-many-columns", "non-integer-id"],
)
def test_malformed_csv_raises_value_error_naming_file_line_and_problem(
    workspace: Path, content: str, bad_line: int, problem: str
) -> None:
    bad_csv = workspace / "bad_customers.csv"
    bad_csv.write_text(content)
    with pytest.raises(ValueError, match=rf"bad_customers\.csv, line {bad_line}: {problem}"):
        logic.load_csv_to_duckdb(
            bad_csv, paths.duckdb_path(), "raw_data", "raw_customers", RAW_CUSTOMER_COLUMNS
        )


def test_malformed_csv_leaves_the_previous_table_intact(workspace: Path) -> None:
    db_path = paths.duckdb_path()
    load_raw_customers(db_path)
    bad_csv = workspace / "bad_customers.csv"
    bad_csv.write_text("1,Ada\n")
    with pytest.raises(ValueError):
        logic.load_csv_to_duckdb(bad_csv, db_path, "raw_data", "raw_customers", RAW_CUSTOMER_COLUMNS)
    assert_duckdb_unlocked(db_path)
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("select count(*) from raw_data.raw_customers").fetchone() == (100,)


def test_dbt_build_runs_the_seven_asset_nodes_and_their_tests(built_workspace: dict) -> None:
    built = built_workspace["built"]
    assert {uid for uid in built if not uid.startswith("test.")} == ASSET_NODES
    assert sum(uid.startswith("test.") for uid in built) >= 10
    results = json.loads((built_workspace["target"] / "run_results.json").read_text())
    assert {r["status"] for r in results["results"]} <= {"success", "pass"}


def test_dbt_build_fills_the_customers_and_orders_tables(built_workspace: dict) -> None:
    db_path = built_workspace["duckdb"]
    assert_duckdb_unlocked(db_path)
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("select count(*) from main.customers").fetchone() == (100,)
        assert con.execute("select count(*) from main.orders").fetchone() == (100,)
        columns = [row[0] for row in con.execute("describe main.customers").fetchall()]
        # every paid cent is attributed to exactly one customer
        (paid,) = con.execute("select sum(amount) from main.orders").fetchone()
        (attributed,) = con.execute("select sum(customer_lifetime_value) from main.customers").fetchone()
    assert columns == [
        "customer_id",
        "first_name",
        "last_name",
        "first_order",
        "most_recent_order",
        "number_of_orders",
        "customer_lifetime_value",
    ]
    assert paid == pytest.approx(attributed)


def test_dbt_writes_artefacts_to_the_workspace_not_the_project_folder(built_workspace: dict) -> None:
    assert (built_workspace["target"] / "manifest.json").is_file()
    assert (built_workspace["logs"] / "dbt.log").is_file()
    assert project_dir_entries() == built_workspace["project_entries_before"]
    for unwanted in ("target", "logs", "dbt_packages", ".user.yml"):
        assert not (paths.DBT_PROJECT_DIR / unwanted).exists(), f"dbt wrote {unwanted} into the project"


def test_dbt_parse_writes_a_manifest_with_seven_asset_nodes(workspace: Path) -> None:
    manifest_path = logic.run_dbt_parse(paths.DBT_PROJECT_DIR, paths.dbt_target_path(), paths.dbt_log_path())
    assert manifest_path == paths.dbt_target_path() / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    asset_nodes = {uid for uid in manifest["nodes"] if uid.split(".")[0] in {"seed", "model"}}
    assert asset_nodes == ASSET_NODES
    assert set(manifest["sources"]) == {"source.jaffle_shop.raw_data.raw_customers"}


def test_dbt_build_failure_raises_runtime_error_naming_the_node(workspace: Path) -> None:
    load_raw_customers(paths.duckdb_path())  # dbt-duckdb does not create the data/ folder itself
    project = workspace / "broken_project"
    shutil.copytree(paths.DBT_PROJECT_DIR, project)
    (project / "models" / "staging" / "stg_orders.sql").write_text(
        "select no_such_column from {{ ref('raw_orders') }}\n"
    )
    with pytest.raises(RuntimeError, match=r"(?s)model\.jaffle_shop\.stg_orders \[error\]: .*no_such_column"):
        logic.run_dbt_build(
            project, paths.dbt_target_path(), paths.dbt_log_path(), select="raw_orders stg_orders"
        )
    assert_duckdb_unlocked(paths.duckdb_path())


def test_export_writes_header_plus_100_rows_atomically(built_workspace: dict, tmp_path: Path) -> None:
    out = tmp_path / "exports" / "customers.csv"
    assert logic.export_table_to_csv(built_workspace["duckdb"], "main.customers", out) == 100
    assert_duckdb_unlocked(built_workspace["duckdb"])
    lines = out.read_text().splitlines()
    assert len(lines) == 101
    assert lines[0].split(",") == [
        "customer_id",
        "first_name",
        "last_name",
        "first_order",
        "most_recent_order",
        "number_of_orders",
        "customer_lifetime_value",
    ]
    assert [p.name for p in out.parent.iterdir()] == ["customers.csv"], "temporary file left behind"
    assert logic.count_csv_rows(out) == 100


def test_export_overwrites_an_existing_csv(built_workspace: dict, tmp_path: Path) -> None:
    out = tmp_path / "customers.csv"
    out.write_text("stale\n")
    logic.export_table_to_csv(built_workspace["duckdb"], "customers", out)
    with out.open(newline="") as handle:
        assert next(csv.reader(handle))[0] == "customer_id"


def test_count_csv_rows_excludes_the_header_and_blank_lines(tmp_path: Path) -> None:
    sample = tmp_path / "sample.csv"
    sample.write_text("a,b\n1,2\n\n3,4\n")
    assert logic.count_csv_rows(sample) == 2
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert logic.count_csv_rows(empty) == 0


def test_airflow_operators_load_and_export_through_the_logic_functions(workspace: Path) -> None:
    # Run in a child process with its own AIRFLOW_HOME so importing Airflow touches nothing outside tmp.
    script = """
from customers_pipeline import paths
from customers_pipeline.operators import ExportDuckDBToCSVOperator, LoadCSVToDuckDBOperator

load = LoadCSVToDuckDBOperator(
    task_id="load", csv_path=paths.SOURCE_RAW_CUSTOMERS_CSV, duckdb_path=paths.duckdb_path(),
    schema="raw_data", table="raw_customers", columns=["id", "first_name", "last_name"],
)
export = ExportDuckDBToCSVOperator(
    task_id="export", duckdb_path=paths.duckdb_path(), table="raw_data.raw_customers",
    csv_path=paths.customers_csv(),
)
print(load.execute(context={}), export.execute(context={}))
"""
    env = {**os.environ, "AIRFLOW_HOME": str(workspace / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-2:] == ["100", "100"]
    assert logic.count_csv_rows(paths.customers_csv()) == 100


def test_the_dag_file_proxies_the_whole_dag_with_its_own_patient_operator(
    workspace: Path, tmp_path: Path
) -> None:
    # The committed DAG file, with `proxied: true` for the DAG, parsed by Airflow's DagBag in a child process.
    dags = tmp_path / "dags"
    shutil.copytree(
        paths.REPO_ROOT / "airflow_dags", dags, ignore=shutil.ignore_patterns("data", "__pycache__")
    )
    (dags / "proxied_state" / "rebuild_customers_list.yaml").write_text("proxied: true\n")
    script = f"""
from airflow.models import DagBag

bag = DagBag({str(dags)!r}, include_examples=False)
assert not bag.import_errors, bag.import_errors
dag = bag.dags["rebuild_customers_list"]
print({{task.task_id: type(task).__name__ for task in dag.tasks}}, dag.tags)
"""
    env = {**os.environ, "AIRFLOW_HOME": str(workspace / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    tasks, _, tags = done.stdout.strip().splitlines()[-1].partition("} ")
    assert (
        tasks + "}" == "{'DAGSTER_OVERRIDE_DAG_rebuild_customers_list': 'PatientProxyDAGToDagsterOperator'}"
    )
    assert "Dag overriden to Dagster" in tags
