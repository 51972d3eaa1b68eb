"""Stage 1, peer with a check: the DAG asset gets an asset check on the CSV the DAG exports."""

from dagster import Definitions, in_process_executor
from dagster_airlift.core import build_defs_from_airflow_instance

from dagster_defs.airflow_instance import airflow_instance
from dagster_defs.shared import (
    DAG_ASSET_KEY,
    SENSOR_INTERVAL_SECONDS,
    validate_exported_csv_check,
)

defs = build_defs_from_airflow_instance(
    airflow_instance=airflow_instance,
    defs=Definitions(
        asset_checks=[validate_exported_csv_check(DAG_ASSET_KEY)],
        # The check runs in the run process: no second process that loads the code again.
        executor=in_process_executor,
    ),
    sensor_minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
)
