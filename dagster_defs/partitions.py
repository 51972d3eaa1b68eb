"""Stage 3, partitions: the observed assets get daily partitions; an Airflow logical date picks the day."""

from dagster import AssetSpec, DailyPartitionsDefinition, Definitions, in_process_executor
from dagster_airlift.core import assets_with_task_mappings, build_defs_from_airflow_instance
from dagster_dbt import get_asset_key_for_model

from dagster_defs.airflow_instance import airflow_instance
from dagster_defs.dbt import build_dbt_assets, dbt_resource
from dagster_defs.shared import (
    CUSTOMERS_CSV_KEY,
    DAG_ID,
    RAW_CUSTOMERS_KEY,
    SENSOR_INTERVAL_SECONDS,
    validate_exported_csv_check,
)

# >>> partitions: One partition per day in UTC, starting on the day the DAG starts (its start_date, in
# ... airflow_dags/rebuild_customers_list.py and customers_pipeline/schedule.py).
daily_partitions = DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC")
# --- starter
# daily_partitions = None  # no partitions yet
# <<<

dbt_models = build_dbt_assets(partitions_def=daily_partitions)

defs = build_defs_from_airflow_instance(
    airflow_instance=airflow_instance,
    defs=Definitions(
        assets=assets_with_task_mappings(
            dag_id=DAG_ID,
            task_mappings={
                "load_raw_customers": [AssetSpec(RAW_CUSTOMERS_KEY, partitions_def=daily_partitions)],
                "build_dbt_models": [dbt_models],
                "export_customers": [
                    AssetSpec(
                        CUSTOMERS_CSV_KEY,
                        deps=[get_asset_key_for_model([dbt_models], "customers")],
                        partitions_def=daily_partitions,
                    )
                ],
            },
        ),
        asset_checks=[validate_exported_csv_check(CUSTOMERS_CSV_KEY)],
        resources={"dbt": dbt_resource()},
        # The check runs in the run process: no second process that loads the code again.
        executor=in_process_executor,
    ),
    sensor_minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
)
