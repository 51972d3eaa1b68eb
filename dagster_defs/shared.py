"""Pieces the stages share: the DAG id, asset keys, the daily partitions, the check on the exported CSV."""

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

DAG_ID = "rebuild_customers_list"
DAG_ASSET_KEY = AssetKey(["airflow", "dag", DAG_ID])  # <instance name>/dag/<dag id>
# dagster-airlift polls Airflow every 30 s by default; the workbench asks for 1 s so learners wait less.
SENSOR_INTERVAL_SECONDS = 1

# The assets the DAG's two Python tasks write; the dbt models' keys come from the dbt manifest.
RAW_CUSTOMERS_KEY = AssetKey(["raw_data", "raw_customers"])
CUSTOMERS_CSV_KEY = AssetKey("customers_csv")

# One partition per day from the DAG's own start date: an Airflow logical date is a partition's start.
DAILY_PARTITIONS = DailyPartitionsDefinition(start_date=START_DATE, timezone="UTC")


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
