"""Helpers that drive the airlift tutorial workbench: services, Airflow and Dagster APIs, stage steps."""

from .progress import wait_until
from .workbench import (
    DAG_ID,
    SENSOR_NAME,
    MisalignedRunError,
    Workbench,
    midnight,
    seconds_between,
    show_definitions,
    up,
)

__all__ = [
    "DAG_ID",
    "SENSOR_NAME",
    "MisalignedRunError",
    "Workbench",
    "midnight",
    "seconds_between",
    "show_definitions",
    "up",
    "wait_until",
]
