"""Stage 3, partitions: the observed assets get daily partitions; an Airflow logical date picks the day."""

from dagster import AssetSpec, Definitions, in_process_executor
from dagster_airlift.core import assets_with_task_mappings, build_defs_from_airflow_instance
from dagster_dbt import get_asset_key_for_model

from dagster_defs.airflow_instance import airflow_instance
from dagster_defs.dbt import build_dbt_assets, dbt_resource
from dagster_defs.shared import (
    CUSTOMERS_CSV_KEY,
    DAG_ID,
    DAILY_PARTITIONS,
    RAW_CUSTOMERS_KEY,
    SENSOR_INTERVAL_SECONDS,
    validate_exported_csv_check,
)

dbt_models = build_dbt_assets(partitions_def=DAILY_PARTITIONS)

defs = build_defs_from_airflow_instance(
    airflow_instance=airflow_instance,
    defs=Definitions(
        assets=assets_with_task_mappings(
            dag_id=DAG_ID,
            task_mappings={
                "load_raw_customers": [AssetSpec(RAW_CUSTOMERS_KEY, partitions_def=DAILY_PARTITIONS)],
                "build_dbt_models": [dbt_models],
                "export_customers": [
                    AssetSpec(
                        CUSTOMERS_CSV_KEY,
                        deps=[get_asset_key_for_model([dbt_models], "customers")],
                        partitions_def=DAILY_PARTITIONS,
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
