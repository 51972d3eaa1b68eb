"""The Dagster definitions of the stages observe, partitions, migrate and decommission, loaded for real.

The decommissioned stage loads and runs without any service. The three airlift stages read the DAG from a
running Airflow, so they are loaded by the workbench's own Dagster (marked `stage`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tutorial_lib
from customers_pipeline import paths
from customers_pipeline.schedule import START_DATE
from tutorial_lib import services
from tutorial_lib.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
DBT_KEYS = {
    "raw_orders",
    "raw_payments",
    "stg_customers",
    "stg_orders",
    "stg_payments",
    "customers",
    "orders",
}
MAPPED_KEYS = {"raw_data/raw_customers", *DBT_KEYS, "customers_csv"}
DAG_ASSET = "airflow/dag/rebuild_customers_list"
CHECKS = {"customers_csv": ["validate_exported_csv"]}
FIRST_DAY = START_DATE.strftime("%Y-%m-%d")


def run_python(script: str, home: Path, timeout: float = 600, lines: int = 1) -> Any:
    """Run a script in a fresh interpreter on the workspace `home`; return the JSON it prints last (with
    `lines` above 1: the JSON documents of that many last lines, in order)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "DAGSTER"))}
    env["AIRLIFT_TUTORIAL_HOME"] = str(home)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    found = [json.loads(line) for line in done.stdout.strip().splitlines()[-lines:]]
    return found[0] if lines == 1 else found


# ---------------------------------------------------------------------------------------------------------
# decommission: no Airflow, no airlift


@pytest.fixture(scope="module")
def offline_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace folder in which no service was ever started."""
    return Workspace(tmp_path_factory.mktemp("offline")).ensure().home


@pytest.fixture(scope="module")
def decommission(offline_home: Path) -> dict[str, Any]:
    """What the decommissioned definitions hold, loaded in a fresh interpreter with no Airflow anywhere, and
    (under "job") what a run of their job for one partition did."""
    definitions, job = run_python(
        """
        import json, sys
        from dagster_defs.decommission import defs

        graph = defs.resolve_asset_graph()
        schedule = defs.resolve_schedule_def("rebuild_customers_list_daily")
        job = defs.resolve_job_def(schedule.job_name)
        specs = defs.resolve_all_asset_specs()
        definitions = {
            "keys": sorted(spec.key.to_user_string() for spec in specs),
            "executable": sorted(k.to_user_string() for k in graph.executable_asset_keys),
            "partition_starts": sorted({spec.partitions_def.start.isoformat() for spec in specs}),
            "partition_crons": sorted({spec.partitions_def.cron_schedule for spec in specs}),
            "checks": sorted(f"{c.asset_key.to_user_string()}:{c.name}" for c in graph.asset_check_keys),
            "schedule": [
                schedule.name, schedule.cron_schedule, schedule.execution_timezone, schedule.job_name
            ],
            "job_keys": sorted(k.to_user_string() for k in job.asset_layer.selected_asset_keys),
            "job_checks": sorted(c.name for c in job.asset_layer.asset_graph.asset_check_keys),
            "modules": sorted({m.split(".")[0] for m in sys.modules} & {"dagster_airlift", "airflow"}),
        }

        # Then the job, for one partition, in the same interpreter (its imports are paid once).
        import subprocess
        from dagster import DagsterInstance
        from customers_pipeline import paths

        with DagsterInstance.ephemeral() as instance:
            result = job.execute_in_process(partition_key="2026-03-01", instance=instance)
        materialized = {
            e.asset_key.to_user_string(): e.partition
            for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"
        }
        checks = [(c.check_name, c.passed) for c in result.get_asset_check_evaluations()]
        # While this process still lives: can another process open the DuckDB file for writing?
        probe = "import duckdb, sys; duckdb.connect(sys.argv[1]).close()"
        lock = subprocess.run([sys.executable, "-c", probe, str(paths.duckdb_path())], capture_output=True)
        job_report = {"materialized": materialized, "checks": checks, "probe_rc": lock.returncode,
                      "probe_err": lock.stderr.decode()[-300:]}
        print(json.dumps(definitions))
        print(json.dumps(job_report))
        """,
        offline_home,
        lines=2,
    )
    return {**definitions, "job": job}


def test_decommission_has_the_nine_assets_all_executable_and_no_dag_asset(
    decommission: dict[str, Any],
) -> None:
    assert set(decommission["keys"]) == MAPPED_KEYS
    assert len(decommission["keys"]) == 9
    assert set(decommission["executable"]) == MAPPED_KEYS


def test_decommission_keeps_the_exported_csv_check(decommission: dict[str, Any]) -> None:
    assert decommission["checks"] == ["customers_csv:validate_exported_csv"]


def test_decommission_schedule_runs_every_asset_daily_at_midnight_utc(decommission: dict[str, Any]) -> None:
    assert decommission["schedule"] == [
        "rebuild_customers_list_daily",
        "0 0 * * *",
        "UTC",
        "rebuild_customers_list",
    ]
    assert set(decommission["job_keys"]) == MAPPED_KEYS
    assert decommission["job_checks"] == ["validate_exported_csv"]
    assert decommission["partition_starts"] == [START_DATE.isoformat()]
    assert decommission["partition_crons"] == ["0 0 * * *"]


def test_decommission_loads_without_airflow_or_dagster_airlift(
    decommission: dict[str, Any], offline_home: Path
) -> None:
    assert decommission["modules"] == []
    assert "services" not in Workspace(offline_home).read_state()


def test_decommission_job_builds_a_partition_and_leaves_duckdb_unlocked(
    decommission: dict[str, Any], offline_home: Path
) -> None:
    report = decommission["job"]
    assert report["materialized"] == dict.fromkeys(MAPPED_KEYS, "2026-03-01")
    assert report["checks"] == [["validate_exported_csv", True]]
    assert report["probe_rc"] == 0, report["probe_err"]
    assert (offline_home / "data" / "customers.csv").exists()
    # dbt wrote its artefacts into the workspace, never into the committed project.
    assert not (REPO / "dbt_project" / "target").exists()
    assert list((offline_home / "dbt" / "dagster_runs").iterdir())


# ---------------------------------------------------------------------------------------------------------
# ensure_manifest: parse offline into the workspace, only when the project changed


@pytest.fixture
def dbt() -> Any:
    """dagster_defs.dbt, imported only by the tests that need it (dagster-dbt takes seconds to import)."""
    from dagster_defs import dbt

    return dbt


@pytest.fixture
def project_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the dbt project, with AIRLIFT_TUTORIAL_HOME set for its profile."""
    monkeypatch.setenv(paths.HOME_ENV_VAR, str(tmp_path / "home"))
    return Path(shutil.copytree(paths.DBT_PROJECT_DIR, tmp_path / "dbt_project"))


def test_ensure_manifest_parses_once_and_again_only_after_a_project_change(
    dbt: Any, project_copy: Path, tmp_path: Path
) -> None:
    target = tmp_path / "target"
    manifest = dbt.ensure_manifest(project_copy, target)
    assert manifest == target / "manifest.json"
    nodes = json.loads(manifest.read_text())["nodes"]
    assert "model.jaffle_shop.customers" in nodes
    first = manifest.stat().st_mtime_ns

    assert dbt.ensure_manifest(project_copy, target) == manifest
    assert manifest.stat().st_mtime_ns == first, "a fresh manifest was parsed again"

    # The project changes after the parse: the manifest is now older than a model file.
    earlier = (project_copy / "models" / "customers.sql").stat().st_mtime - 60
    os.utime(manifest, (earlier, earlier))
    first = manifest.stat().st_mtime_ns
    assert dbt.manifest_is_stale(manifest, project_copy)
    dbt.ensure_manifest(project_copy, target)
    assert manifest.stat().st_mtime_ns != first
    assert not dbt.manifest_is_stale(manifest, project_copy)


def test_ensure_manifest_reports_a_broken_project_clearly(
    dbt: Any, project_copy: Path, tmp_path: Path
) -> None:
    (project_copy / "models" / "broken.sql").write_text("select * from {{ ref('no_such_model') }}\n")
    with pytest.raises(dbt.DbtManifestError, match=r"(?s)dbt could not parse.*no_such_model.*reload"):
        dbt.ensure_manifest(project_copy, tmp_path / "target")


def test_the_dbt_launcher_answers_its_version_at_once_and_hands_the_rest_to_dbt(
    dbt: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib.metadata import version

    monkeypatch.setenv(paths.HOME_ENV_VAR, str(tmp_path))
    launcher = dbt.dbt_executable()
    assert launcher == tmp_path / "bin" / "dbt" and not launcher.stat().st_mode & 0o022
    answer = subprocess.run([launcher, "--version"], capture_output=True, text=True, timeout=60, check=True)
    assert version("dbt-core") in answer.stdout and "latest" not in answer.stdout
    assert dbt.dbt_resource().dbt_executable == str(launcher)
    usage = subprocess.run([launcher, "--help"], capture_output=True, text=True, timeout=120, check=True)
    assert "build" in usage.stdout and "parse" in usage.stdout  # dbt's own command list


# ---------------------------------------------------------------------------------------------------------
# observe, partitions, migrate: loaded by the workbench's Dagster against its running Airflow


@pytest.fixture(scope="module")
def helper_workbench(stage_home: Path) -> Iterator[tutorial_lib.Workbench]:
    """The session's test workspace with its services up; its selected definitions are put back after.

    The session fixture `stage_home` stops the services (and checks that no process survives) at the end.
    """
    wb = tutorial_lib.up(stage_home, show=False)
    # An earlier stage (decommission) may have removed the DAG that these definitions map to.
    wb.restore_dags()
    services.wait_for_dag_files(wb.workspace, wb.airflow, show=False)
    before = wb.workspace.read_state().get("definitions", "peer")
    yield wb
    wb.use_definitions(before)


def _nodes(wb: tutorial_lib.Workbench) -> dict[str, dict[str, Any]]:
    return {"/".join(node["assetKey"]["path"]): node for node in wb.dagster.asset_nodes()}


def _checks(nodes: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    found = {}
    for key, node in nodes.items():
        names = [check["name"] for check in (node.get("assetChecksOrError") or {}).get("checks", [])]
        if names:
            found[key] = sorted(names)
    return found


@pytest.mark.stage
def test_observe_maps_the_ten_assets_with_one_check(helper_workbench: tutorial_lib.Workbench) -> None:
    helper_workbench.use_definitions("observe")
    nodes = _nodes(helper_workbench)
    assert set(nodes) == {DAG_ASSET, *MAPPED_KEYS}
    assert len(nodes) == 10
    # Only our CSV check: the dbt tests are not turned into asset checks.
    assert _checks(nodes) == CHECKS
    deps = {key: {"/".join(d["path"]) for d in node["dependencyKeys"]} for key, node in nodes.items()}
    assert deps["stg_customers"] == {"raw_data/raw_customers"}
    assert deps["customers_csv"] == {"customers"}
    assert not any(node["partitionDefinition"] for node in nodes.values())
    assert not nodes["raw_data/raw_customers"]["isExecutable"]
    assert not nodes["customers_csv"]["isExecutable"]


@pytest.mark.stage
def test_partitions_are_daily_from_the_dags_own_start_date(helper_workbench: tutorial_lib.Workbench) -> None:
    wb = helper_workbench
    wb.use_definitions("partitions")
    nodes = _nodes(wb)
    assert set(nodes) == {DAG_ASSET, *MAPPED_KEYS}
    assert _checks(nodes) == CHECKS
    for key in MAPPED_KEYS:
        assert nodes[key]["partitionDefinition"]["description"] == f"Daily, starting {FIRST_DAY} UTC.", key
    assert nodes[DAG_ASSET]["partitionDefinition"] is None
    keys = wb.dagster.partition_keys("customers_csv")
    assert keys[0] == FIRST_DAY
    # Airflow's own view of the DAG: the same first logical date.
    details = wb.airflow.request("GET", "dags/rebuild_customers_list/details")
    assert details["start_date"] == START_DATE.isoformat()
    assert details["start_date"].startswith(keys[0])


@pytest.mark.stage
def test_migrate_makes_the_nine_mapped_assets_executable(helper_workbench: tutorial_lib.Workbench) -> None:
    wb = helper_workbench
    wb.use_definitions("migrate")
    nodes = _nodes(wb)
    assert set(nodes) == {DAG_ASSET, *MAPPED_KEYS}
    assert {key for key, node in nodes.items() if node["isExecutable"]} == MAPPED_KEYS
    assert _checks(nodes) == CHECKS
    for key in MAPPED_KEYS:
        assert nodes[key]["partitionDefinition"]["description"] == f"Daily, starting {FIRST_DAY} UTC.", key
