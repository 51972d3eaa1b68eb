"""Stage 4, migrate: the task-mapped specs become executable assets; proxied tasks run them in Dagster."""

from dagster import AssetSpec, Definitions, in_process_executor
from dagster_airlift.core import assets_with_task_mappings, build_defs_from_airflow_instance
from dagster_dbt import get_asset_key_for_model

from customers_pipeline import paths
from dagster_defs.airflow_instance import airflow_instance
from dagster_defs.assets import export_csv_asset, load_csv_asset
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
                "load_raw_customers": [
                    load_csv_asset(
                        AssetSpec(RAW_CUSTOMERS_KEY, partitions_def=DAILY_PARTITIONS),
                        csv_path=paths.raw_customers_csv(),
                        duckdb_path=paths.duckdb_path(),
                        schema="raw_data",
                        table="raw_customers",
                        columns=["id", "first_name", "last_name"],
                    )
                ],
                "build_dbt_models": [dbt_models],
                "export_customers": [
                    export_csv_asset(
                        AssetSpec(
                            CUSTOMERS_CSV_KEY,
                            deps=[get_asset_key_for_model([dbt_models], "customers")],
                            partitions_def=DAILY_PARTITIONS,
                        ),
                        duckdb_path=paths.duckdb_path(),
                        table="customers",
                        csv_path=paths.customers_csv(),
                    )
                ],
            },
        ),
        asset_checks=[validate_exported_csv_check(CUSTOMERS_CSV_KEY)],
        resources={"dbt": dbt_resource()},
        # Each run executes its one step in the run process: no second process that loads the code again.
        executor=in_process_executor,
    ),
    sensor_minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
)
