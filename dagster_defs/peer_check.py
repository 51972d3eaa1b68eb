"""Stage 1, peer with a check: the DAG asset gets an asset check on the CSV the DAG exports."""

from dagster import AssetCheckResult, Definitions, asset_check, in_process_executor
from dagster_airlift.core import build_defs_from_airflow_instance

from customers_pipeline import logic, paths
from dagster_defs.airflow_instance import airflow_instance
from dagster_defs.shared import DAG_ASSET_KEY, SENSOR_INTERVAL_SECONDS


# >>> peer_check: An @asset_check named validate_exported_csv on the DAG's asset (DAG_ASSET_KEY): it passes
# ... when the CSV the DAG exports (paths.customers_csv()) exists and has rows (logic.count_csv_rows).
@asset_check(asset=DAG_ASSET_KEY, name="validate_exported_csv", description="the CSV exists and has rows")
def validate_exported_csv() -> AssetCheckResult:
    csv_path = paths.customers_csv()
    if not csv_path.exists():
        return AssetCheckResult(passed=False, description=f"{csv_path.name} does not exist")
    rows = logic.count_csv_rows(csv_path)
    return AssetCheckResult(passed=rows > 0, metadata={"row_count": rows})


# --- starter
# <<<


defs = build_defs_from_airflow_instance(
    airflow_instance=airflow_instance,
    defs=Definitions(
        # >>> peer_check: Give the definitions your check.
        asset_checks=[validate_exported_csv],
        # --- starter
        # asset_checks=[],
        # <<<
        # The check runs in the run process: no second process that loads the code again.
        executor=in_process_executor,
    ),
    sensor_minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
)
