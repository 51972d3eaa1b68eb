"""Stage 5, decommission: no Airflow, no airlift; a Dagster schedule runs the same assets every day."""

from dagster import (
    AssetSpec,
    Definitions,
    build_schedule_from_partitioned_job,
    define_asset_job,
    in_process_executor,
)
from dagster_dbt import get_asset_key_for_model

from customers_pipeline import paths
from dagster_defs.assets import export_csv_asset, load_csv_asset
from dagster_defs.dbt import build_dbt_assets, dbt_resource
from dagster_defs.shared import (
    CUSTOMERS_CSV_KEY,
    DAG_ID,
    DAILY_PARTITIONS,
    RAW_CUSTOMERS_KEY,
    validate_exported_csv_check,
)

dbt_models = build_dbt_assets(partitions_def=DAILY_PARTITIONS)
raw_customers = load_csv_asset(
    AssetSpec(RAW_CUSTOMERS_KEY, partitions_def=DAILY_PARTITIONS),
    csv_path=paths.raw_customers_csv(),
    duckdb_path=paths.duckdb_path(),
    schema="raw_data",
    table="raw_customers",
    columns=["id", "first_name", "last_name"],
)
customers_csv = export_csv_asset(
    AssetSpec(
        CUSTOMERS_CSV_KEY,
        deps=[get_asset_key_for_model([dbt_models], "customers")],
        partitions_def=DAILY_PARTITIONS,
    ),
    duckdb_path=paths.duckdb_path(),
    table="customers",
    csv_path=paths.customers_csv(),
)

# >>> decommission: The DAG's job, now Dagster's: define_asset_job named like the DAG (DAG_ID), selecting
# ... the nine assets, with the daily partitions; and a schedule that runs it at 00:00 UTC every day, like the
# ... DAG's @daily (cron "0 0 * * *"), each run for the day that just ended.
rebuild_customers_list = define_asset_job(
    name=DAG_ID, selection=[raw_customers, dbt_models, customers_csv], partitions_def=DAILY_PARTITIONS
)
# A partitioned job needs a partition key per run: build_schedule_from_partitioned_job picks the day that
# just ended. (A plain ScheduleDefinition fits a job without partitions.)
daily_schedule = build_schedule_from_partitioned_job(
    rebuild_customers_list, name=f"{DAG_ID}_daily", hour_of_day=0, minute_of_hour=0
)
# --- starter
# <<<

defs = Definitions(
    assets=[raw_customers, dbt_models, customers_csv],
    asset_checks=[validate_exported_csv_check(CUSTOMERS_CSV_KEY)],
    # >>> decommission: Give the definitions your job and schedule.
    jobs=[rebuild_customers_list],
    schedules=[daily_schedule],
    # --- starter
    # <<<
    resources={"dbt": dbt_resource()},
    # Steps run one after the other in the run process: no extra process per step that loads the code again.
    executor=in_process_executor,
)
