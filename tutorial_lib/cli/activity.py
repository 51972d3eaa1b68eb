"""What a stage did on the services: its DAG runs, Dagster runs, materializations and check results."""

from __future__ import annotations

import logging

import requests

from tutorial_lib import services
from tutorial_lib.cli.summary import ACTIVITY
from tutorial_lib.clients.airflow import AirflowError, parse_time
from tutorial_lib.clients.dagster import DagsterError
from tutorial_lib.names import DAG_ID
from tutorial_lib.services import ServiceError
from tutorial_lib.workspace import Workspace

# A service that is gone or does not answer: its counts in the summary stay empty.
UNREACHABLE = (AirflowError, DagsterError, ServiceError, requests.RequestException, OSError)
log = logging.getLogger(__name__)


def stage_activity(workspace: Workspace, since: float) -> dict[str, int | None]:
    """What the services hold from `since` on: DAG runs, Dagster runs, materializations, check results.

    Each stage starts by clearing runs and asset history, so this counts what the stage itself did.
    A service that is not running (Airflow after the decommission stage) counts as None.
    """
    activity: dict[str, int | None] = dict.fromkeys(ACTIVITY)
    state = workspace.read_state().get("services", {})
    # A service that is gone (Airflow after decommission) fails its calls: its counts stay None.
    try:
        if "airflow" in state:
            airflow = services.airflow_client(workspace)
            runs = airflow.dag_runs(DAG_ID) if DAG_ID in airflow.dag_ids() else []
            activity["dag_runs"] = sum(1 for run in runs if _after(run.get("start_date"), since))
    except UNREACHABLE as exc:  # the report must not fail the run; the notebook proved the stage already
        log.info("No Airflow counts for the summary: %s", exc)
    try:
        if "dagster" in state:
            activity.update(services.dagster_client(workspace, timeout=20).activity_since(since))
    except UNREACHABLE as exc:
        log.info("No Dagster counts for the summary: %s", exc)
    return activity


def _after(value: str | None, since: float) -> bool:
    """Whether an Airflow time is at or after a unix timestamp."""
    return bool(value) and parse_time(value).timestamp() >= since
