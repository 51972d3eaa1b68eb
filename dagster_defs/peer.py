"""Stage 1, peer: Dagster sees the Airflow instance; each DAG becomes an asset."""

from dagster_airlift.core import build_defs_from_airflow_instance

from dagster_defs.airflow_instance import airflow_instance
from dagster_defs.shared import SENSOR_INTERVAL_SECONDS

defs = build_defs_from_airflow_instance(
    airflow_instance=airflow_instance,
    sensor_minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
)
