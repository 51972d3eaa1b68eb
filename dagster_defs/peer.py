"""Stage 1, peer: Dagster sees the Airflow instance; each DAG becomes an asset."""

# >>> peer: Import the function that builds definitions from an Airflow instance (dagster_airlift.core);
# ... the starter imports Definitions only for its empty placeholder below.
from dagster_airlift.core import build_defs_from_airflow_instance

# --- starter
# from dagster import Definitions
#
# <<<
from dagster_defs.airflow_instance import airflow_instance
from dagster_defs.shared import SENSOR_INTERVAL_SECONDS

# >>> peer: Build the definitions from airflow_instance, with the sensor polling every
# ... SENSOR_INTERVAL_SECONDS (sensor_minimum_interval_seconds).
defs = build_defs_from_airflow_instance(
    airflow_instance=airflow_instance,
    sensor_minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
)
# --- starter
# defs = Definitions()  # empty: Dagster loads nothing yet
# <<<
