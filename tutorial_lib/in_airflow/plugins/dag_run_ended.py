"""An Airflow listener that marks the moment a DAG run ends, for the workspace's Dagster.

Airflow loads it from this plugins folder (`[core] plugins_folder`, set by the workbench). When a DAG run
succeeds or fails it touches the file named by `AIRLIFT_TUTORIAL_WAKE_FILE`. Dagster's daemon then evaluates
the airlift sensor at its own short interval for a few seconds, and only every so often while nothing ends
(see `tutorial_lib/in_dagster/startup/sitecustomize.py`): an idle workspace costs little CPU, and a finished
run still reaches Dagster within a second or two.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin

from tutorial_lib.env_vars import WAKE_FILE


def mark_ended() -> None:
    """Touch the wake file (nothing if the workspace names none)."""
    path = os.environ.get(WAKE_FILE)
    if path:
        Path(path).touch()


@hookimpl
def on_dag_run_success(dag_run: object, msg: str) -> None:
    """A DAG run succeeded."""
    mark_ended()


@hookimpl
def on_dag_run_failed(dag_run: object, msg: str) -> None:
    """A DAG run failed."""
    mark_ended()


class DagRunEndedPlugin(AirflowPlugin):
    """Registers this module's listener."""

    name = "airlift_tutorial_dag_run_ended"
    listeners = [sys.modules[__name__]]
