"""Stage 2, observe: each Airflow task is mapped to the assets it writes; Dagster records them per run."""

from dagster import AssetSpec, Definitions, in_process_executor
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

dbt_models = build_dbt_assets()

defs = build_defs_from_airflow_instance(
    airflow_instance=airflow_instance,
    defs=Definitions(
        assets=assets_with_task_mappings(
            dag_id=DAG_ID,
            # >>> observe: Map each task id to what it writes: load_raw_customers, an AssetSpec of the
            # ... DuckDB table (RAW_CUSTOMERS_KEY); build_dbt_models, the dbt assets (dbt_models);
            # ... export_customers, an AssetSpec of customers_csv (CUSTOMERS_CSV_KEY) that depends on the
            # ... dbt model "customers" (get_asset_key_for_model finds its key).
            task_mappings={
                "load_raw_customers": [AssetSpec(RAW_CUSTOMERS_KEY)],
                "build_dbt_models": [dbt_models],
                "export_customers": [
                    AssetSpec(CUSTOMERS_CSV_KEY, deps=[get_asset_key_for_model([dbt_models], "customers")])
                ],
            },
            # --- starter
            # task_mappings={},
            # <<<
        ),
        # >>> observe: The check on the exported CSV, now on the asset it checks: customers_csv
        # ... (validate_exported_csv_check(key) makes it for any key).
        asset_checks=[validate_exported_csv_check(CUSTOMERS_CSV_KEY)],
        # --- starter
        # asset_checks=[],
        # <<<
        resources={"dbt": dbt_resource()},
        # The check runs in the run process: no second process that loads the code again.
        executor=in_process_executor,
    ),
    sensor_minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
)
