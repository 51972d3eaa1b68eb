"""Helpers that drive the airlift tutorial workbench: services, Airflow and Dagster APIs, stage steps."""

from .progress import wait_until
from .workbench import (
    DAG_ID,
    SCHEDULE_NAME,
    SENSOR_NAME,
    MisalignedRunError,
    Workbench,
    midnight,
    seconds_between,
    up,
    utc_time,
)

__all__ = [
    "DAG_ID",
    "SCHEDULE_NAME",
    "SENSOR_NAME",
    "MisalignedRunError",
    "Workbench",
    "midnight",
    "seconds_between",
    "utc_time",
    "up",
    "wait_until",
]
