"""The code location Dagster's code server loads: the stage definitions the workspace selected.

The definitions in `dagster_defs/` are what a learner writes at work: they read Airflow's address and login
from the environment, as a deployment would provide them. This module is the workbench's side of that: it
waits until the workspace's Airflow is up, puts its address and credentials in the environment, and then
imports the selected stage's module.
"""

from __future__ import annotations

import importlib
import os

from customers_pipeline import paths

from .services import AIRFLOW_USER, airflow_when_ready
from .workspace import Workspace

# The environment variables the definitions read (see dagster_defs/airflow_instance.py).
URL_VAR, USER_VAR, PASSWORD_VAR = "AIRFLOW_WEBSERVER_URL", "AIRFLOW_USERNAME", "AIRFLOW_PASSWORD"
# Stages whose definitions never talk to Airflow.
WITHOUT_AIRFLOW = ("decommission",)


def selected_definitions(workspace: Workspace) -> str:
    """The name of the `dagster_defs` module the workspace selected (the peer stage's by default)."""
    return workspace.read_state().get("definitions", "peer")


def provide_airflow_environment(workspace: Workspace) -> None:
    """Set the Airflow address and login the definitions read, once Airflow has parsed its DAG files."""
    record = airflow_when_ready(workspace.home)  # Airflow starts with Dagster: wait until it has the DAGs
    os.environ[URL_VAR] = record["url"]
    os.environ[USER_VAR] = AIRFLOW_USER
    os.environ[PASSWORD_VAR] = workspace.secret("airflow_password")


_workspace = Workspace(paths.home())
DEFINITIONS = selected_definitions(_workspace)
if DEFINITIONS not in WITHOUT_AIRFLOW:
    provide_airflow_environment(_workspace)
defs = importlib.import_module(f"dagster_defs.{DEFINITIONS}").defs
