"""One place for each name the tutorial's pieces must agree on: the DAG, its tasks and assets, the sensor
and schedule, the operators Airflow serves, dagster-airlift's tag and metadata keys, the login.

Tag and metadata keys come from `dagster_airlift.constants`, upstream's own single source.
"""

from __future__ import annotations

from dagster_airlift.constants import (
    AIRFLOW_RUN_ID_METADATA_KEY,
    DAG_MAPPING_METADATA_KEY,
    DAG_RUN_ID_TAG_KEY,
    EFFECTIVE_TIMESTAMP_METADATA_KEY,
    OBSERVATION_RUN_TAG_KEY,
    PEERED_DAG_MAPPING_METADATA_KEY,
    TASK_ID_TAG_KEY,
    TASK_MAPPING_METADATA_KEY,
)

__all__ = [
    "AIRFLOW_RUN_ID_METADATA_KEY",
    "DAG_MAPPING_METADATA_KEY",
    "DAG_RUN_ID_TAG_KEY",
    "EFFECTIVE_TIMESTAMP_METADATA_KEY",
    "OBSERVATION_RUN_TAG_KEY",
    "PEERED_DAG_MAPPING_METADATA_KEY",
    "TASK_ID_TAG_KEY",
    "TASK_MAPPING_METADATA_KEY",
]

# The Airflow DAG the tutorial migrates, and its tasks in order.
DAG_ID = "rebuild_customers_list"
TASKS = ("load_raw_customers", "build_dbt_models", "export_customers")

# Dagster's side: the code location, the airlift sensor, the decommissioned stage's schedule.
LOCATION_NAME = "airlift_tutorial"
SENSOR_NAME = "airflow__airflow_dag_status_sensor"  # `<instance name>__airflow_dag_status_sensor`
SCHEDULE_NAME = f"{DAG_ID}_daily"

# The assets, as "/"-joined keys.
DAG_ASSET = f"airflow/dag/{DAG_ID}"
RAW_TABLE = "raw_data/raw_customers"
CSV_ASSET = "customers_csv"
DBT_ASSETS = (
    "customers",
    "orders",
    "raw_orders",
    "raw_payments",
    "stg_customers",
    "stg_orders",
    "stg_payments",
)
TASK_ASSETS = tuple(sorted((RAW_TABLE, *DBT_ASSETS, CSV_ASSET)))
CHECK_NAME = "validate_exported_csv"
CSV_ROWS = 100

# The operators Airflow serves for proxied tasks (customers_pipeline/operators.py).
PROXY_OPERATOR = "PatientProxyToDagsterOperator"
DAG_PROXY_OPERATOR = "PatientProxyDAGToDagsterOperator"
# The task-id tag of the Dagster run a DAG-level proxy launches (set by dagster-airlift's DAG proxy operator).
FULL_DAG_PROXY_TAG = "FULL_DAG_PROXY"
# Dagster's own tag for a run's partition (`dagster._core.storage.tags.PARTITION_NAME_TAG`, a private module).
PARTITION_TAG = "dagster/partition"

# The workspace's user, for Airflow and Dagster alike; its password is in the workspace's secrets/.
LOGIN_USER = "tutorial"
PASSWORD_SECRET = "airflow_password"


def override_task(dag_id: str = DAG_ID) -> str:
    """The one task that replaces a DAG's tasks when the whole DAG is proxied (dagster-airlift's name)."""
    return f"DAGSTER_OVERRIDE_DAG_{dag_id}"
