"""Pieces every stage shares: the Airflow instance, the DAG id, asset keys, partitions, the CSV check."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dagster import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    DailyPartitionsDefinition,
    asset_check,
)

from customers_pipeline import logic, paths
from customers_pipeline.schedule import START_DATE
from tutorial_lib.services import AIRFLOW_USER, airflow_when_ready
from tutorial_lib.workspace import Workspace

if TYPE_CHECKING:
    from dagster_airlift.core import AirflowInstance

DAG_ID = "rebuild_customers_list"
INSTANCE_NAME = "airflow"
DAG_ASSET_KEY = AssetKey([INSTANCE_NAME, "dag", DAG_ID])
# dagster-airlift polls Airflow every 30 s by default; the workbench asks for 1 s so learners wait less.
SENSOR_INTERVAL_SECONDS = 1

# The assets the DAG's two Python tasks write; the dbt models' keys come from the dbt manifest.
RAW_CUSTOMERS_KEY = AssetKey(["raw_data", "raw_customers"])
CUSTOMERS_CSV_KEY = AssetKey("customers_csv")

# One partition per day from the DAG's own start date: an Airflow logical date is a partition's start.
DAILY_PARTITIONS = DailyPartitionsDefinition(start_date=START_DATE, timezone="UTC")


def airflow_instance() -> AirflowInstance:
    """The workspace's Airflow, reached with the workspace's own generated credentials."""
    # Imported here, not at the top: the decommissioned stage uses this module without dagster-airlift.
    from dagster_airlift.core import AirflowBasicAuthBackend, AirflowInstance

    workspace = Workspace(paths.home())
    record = airflow_when_ready(workspace.home)  # Airflow starts with Dagster: wait until it has the DAGs
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
