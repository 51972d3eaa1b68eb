"""Helpers that drive the airlift tutorial workbench: services, Airflow and Dagster APIs, stage steps."""

from .workbench import DAG_ID, Workbench, seconds_between, show_definitions, up

__all__ = ["DAG_ID", "Workbench", "seconds_between", "show_definitions", "up"]
