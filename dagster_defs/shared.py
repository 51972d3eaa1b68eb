"""Pieces every stage shares: the Airflow instance, the DAG id, the exported-CSV check."""

from __future__ import annotations

from dagster import AssetCheckResult, AssetChecksDefinition, AssetCheckSeverity, AssetKey, asset_check
from dagster_airlift.core import AirflowBasicAuthBackend, AirflowInstance

from customers_pipeline import logic, paths
from tutorial_lib.services import AIRFLOW_USER
from tutorial_lib.workspace import Workspace

DAG_ID = "rebuild_customers_list"
INSTANCE_NAME = "airflow"
DAG_ASSET_KEY = AssetKey([INSTANCE_NAME, "dag", DAG_ID])
# dagster-airlift polls Airflow every 30 s by default; the workbench asks for 1 s so learners wait less.
SENSOR_INTERVAL_SECONDS = 1


def airflow_instance() -> AirflowInstance:
    """The workspace's Airflow, reached with the workspace's own generated credentials."""
    workspace = Workspace(paths.home())
    record = workspace.read_state().get("services", {}).get("airflow")
    if not record:
        raise RuntimeError("Airflow is not running in this workspace: run `airlift-tutorial up` first.")
    return AirflowInstance(
        auth_backend=AirflowBasicAuthBackend(
            webserver_url=record["url"], username=AIRFLOW_USER, password=workspace.secret("airflow_password")
        ),
        name=INSTANCE_NAME,
    )


def validate_exported_csv_check(asset_key: AssetKey) -> AssetChecksDefinition:
    """The check that the exported customers CSV exists and has rows, attached to asset_key."""

    @asset_check(
        asset=asset_key, name="validate_exported_csv", description="customers.csv exists and has rows"
    )
    def validate_exported_csv() -> AssetCheckResult:
        csv_path = paths.customers_csv()
        if not csv_path.exists():
            return AssetCheckResult(passed=False, description=f"{csv_path.name} does not exist")
        rows = logic.count_csv_rows(csv_path)
        if rows < 1:
            return AssetCheckResult(
                passed=False,
                severity=AssetCheckSeverity.WARN,
                description=f"{csv_path.name} has a header but no rows",
                metadata={"row_count": rows},
            )
        return AssetCheckResult(passed=True, metadata={"row_count": rows})

    return validate_exported_csv
