"""Upstream's two partition caveats, done: what `airflow db clean` keeps, and what dagster-airlift's sensor
does with an asset whose partitions are not time windows. The plumbing behind stage 3's cells and proofs."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from tutorial_lib import env_vars, services
from tutorial_lib.clients.airflow import DagRun, parse_time
from tutorial_lib.names import DAG_ID
from tutorial_lib.notebook.tables import Table
from tutorial_lib.notebook.workbench import Workbench
from tutorial_lib.workspace import WorkspaceError

# ---- `airflow db clean` ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    """One Airflow DAG run as `airflow db clean` sees it: who started it, when, and its task instances."""

    dag_id: str
    run_id: str
    run_type: str
    external_trigger: bool
    logical_date: str
    start_date: str | None
    task_instances: int

    @property
    def label(self) -> str:
        """The run as the proofs show it, the same on every run of the notebook: its type and day."""
        return f"{self.run_type} of {self.logical_date[:10]}"


def airflow_runs(wb: Workbench, dag_id: str = DAG_ID) -> list[RunRecord]:
    """The DAG's runs in Airflow (REST API), oldest logical date first, each with its task-instance count."""
    return [
        RunRecord(
            dag_id=run["dag_id"],
            run_id=run["dag_run_id"],
            run_type=run["run_type"],
            external_trigger=bool(run["external_trigger"]),
            logical_date=run["logical_date"],
            start_date=run.get("start_date"),
            task_instances=len(wb.airflow.dag_run(dag_id, run["dag_run_id"]).tasks),
        )
        for run in wb.airflow.dag_runs(dag_id)
    ]


def kept_by_db_clean(runs: Iterable[RunRecord], cutoff: datetime) -> list[RunRecord]:
    """The runs `airflow db clean --tables dag_run --clean-before-timestamp <cutoff>` keeps, by Airflow 2's
    rule (`airflow/utils/db_cleanup.py`, table `dag_run`: `keep_last`, `keep_last_filters`,
    `keep_last_group_by`): a run that started before the cut-off goes, unless it started exactly when the
    newest run of its DAG not triggered by hand (`external_trigger = false`: scheduled or backfilled) did."""
    runs = list(runs)
    newest: dict[str, datetime] = {}
    for run in runs:
        if run.start_date and not run.external_trigger:
            started = parse_time(run.start_date)
            newest[run.dag_id] = max(started, newest.get(run.dag_id, started))
    return [
        run
        for run in runs
        if run.start_date is None  # Airflow's `start_date < cutoff` is not true of a missing date
        or parse_time(run.start_date) >= cutoff
        or parse_time(run.start_date) == newest.get(run.dag_id)
    ]


STATE_KEY = "airflow_db_clean"  # where the workspace's state file remembers the runs before a clean-up


def remember_runs(wb: Workbench, cutoff: str, dag_id: str = DAG_ID) -> list[RunRecord]:
    """The DAG's runs now, remembered in the workspace's state with a clean-up's cut-off (an ISO time): what
    `runs_before_and_after` and the proof compare with after the clean-up, even after a kernel restart."""
    runs = airflow_runs(wb, dag_id)
    wb.workspace.update_state(**{STATE_KEY: {"cutoff": cutoff, "runs": [asdict(run) for run in runs]}})
    return runs


def remembered_runs(wb: Workbench) -> tuple[list[RunRecord], datetime]:
    """The runs and the cut-off `remember_runs` stored; refuses, saying what to run, if there are none."""
    stored = wb.workspace.read_state().get(STATE_KEY)
    if not stored:
        raise WorkspaceError("No clean-up to compare with yet: run the `airflow db clean` cell above first.")
    return [RunRecord(**run) for run in stored["runs"]], datetime.fromisoformat(stored["cutoff"])


def runs_before_and_after(wb: Workbench, dag_id: str = DAG_ID) -> Table:
    """A table of the runs `remember_runs` stored and what is left of each now."""
    before, _ = remembered_runs(wb)
    after = {run.run_id: run for run in airflow_runs(wb, dag_id)}
    return Table(
        [
            {
                "run": run.run_id,
                "run type": run.run_type,
                "triggered by hand": run.external_trigger,
                "task instances before": run.task_instances,
                "now": "kept" if run.run_id in after else "deleted",
                "task instances now": after[run.run_id].task_instances if run.run_id in after else "-",
            }
            for run in before
        ]
    )


# ---- a non-time-window partitions definition, observed -----------------------------------------------------


def airflow_environment(wb: Workbench) -> dict[str, str]:
    """Airflow's address and login as the workbench gives them to Dagster's code location
    (`tutorial_lib/in_dagster/loader.py`): the settings `dagster_defs/airflow_instance.py` reads."""
    record = services.service_record(wb.workspace, "airflow") or {}
    if not record.get("url"):
        raise WorkspaceError("Airflow is not running in this workspace: run the first cell of the notebook.")
    user, password = services.login(wb.workspace)
    return {
        env_vars.AIRFLOW_URL: record["url"],
        env_vars.AIRFLOW_USERNAME: user,
        env_vars.AIRFLOW_PASSWORD: password,
    }


def observed_run(wb: Workbench, dag_id: str = DAG_ID) -> DagRun:
    """The newest successful run of the DAG that still has its task instances (what the sensor observes)."""
    runs = [run for run in wb.airflow.dag_runs(dag_id) if run["state"] == "success"]
    for run in sorted(runs, key=lambda run: run.get("start_date") or "", reverse=True):
        found = wb.airflow.dag_run(dag_id, run["dag_run_id"])
        if found.tasks and all(task["state"] == "success" for task in found.tasks):
            return found
    raise WorkspaceError(
        f"{dag_id} has no successful run with its task instances: run a backfill cell above first."
    )


@dataclass(frozen=True)
class Observed:
    """What one tick of the airlift sensor made of an Airflow run, recorded as Dagster's daemon records it."""

    error: str | None  # the tick's error, None if it succeeded
    partitions: dict[str, str | None]  # task asset -> partition of its recorded materialization
    materialized_partitions: dict[str, set[str]]  # task asset -> partitions Dagster counts as materialized


@contextmanager
def _quiet() -> Iterator[None]:
    """No Dagster log lines and no preview/beta warnings while the sensor runs in the kernel."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.INFO)
        try:
            yield
        finally:
            logging.disable(logging.NOTSET)


def observe_with_partitions(
    wb: Workbench, run: DagRun, partitions: list[dict[str, Any]], task_assets: Mapping[str, str]
) -> list[Observed]:
    """Evaluate a tick of dagster-airlift's sensor over exactly this Airflow run for each way of partitioning
    the task assets, in a child process.

    Each of `partitions` is {"kind": "static", "keys": [...]} or {"kind": "daily", "start_date": "..."}. The
    child imports Dagster and airlift for these ticks, so the kernel does not keep them (~90 MB) for the rest
    of the session; Airflow's login reaches it on its standard input, never on a command line.
    """
    request = {
        "settings": airflow_environment(wb),
        "dag_id": run.dag_id,
        "ended_at": run.ended_at,
        "partitionings": partitions,
        "task_assets": dict(task_assets),
    }
    done = subprocess.run(
        [sys.executable, "-c", f"from {__name__} import tick_in_child; tick_in_child()"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise WorkspaceError(f"The airlift sensor's tick could not be evaluated:\n{done.stderr[-2000:]}")
    results = json.loads(done.stdout.strip().splitlines()[-1])
    for found in results:  # JSON has lists where Observed has sets
        found["materialized_partitions"] = {
            key: set(days) for key, days in found["materialized_partitions"].items()
        }
    return [Observed(**found) for found in results]


def _observe(request: dict[str, Any], asked: dict[str, Any]) -> Observed:
    """One tick of the sensor with the task assets partitioned as asked (see `observe_with_partitions`), in
    this process.

    The definitions are built with dagster-airlift's public API from the workspace's live Airflow, the given
    task -> asset key mapping, each asset with the partitions asked for. The tick's asset events are then
    recorded in an ephemeral Dagster instance with `report_runless_asset_event`, as Dagster's sensor daemon
    records them (`dagster/_daemon/sensor.py`): the workspace's Dagster sees nothing of it.
    """
    from dagster import (
        AssetKey,
        AssetSpec,
        DagsterInstance,
        DailyPartitionsDefinition,
        Definitions,
        StaticPartitionsDefinition,
        build_sensor_context,
    )
    from dagster._serdes import serialize_value
    from dagster_airlift.core import (
        AirflowBasicAuthBackend,
        AirflowInstance,
        assets_with_task_mappings,
        build_defs_from_airflow_instance,
    )
    from dagster_airlift.core.sensor.sensor_builder import AirflowPollingSensorCursor

    settings, ended_at, task_assets = request["settings"], request["ended_at"], request["task_assets"]
    if asked["kind"] == "static":
        partitions_def: Any = StaticPartitionsDefinition(asked["keys"])
    else:
        partitions_def = DailyPartitionsDefinition(start_date=asked["start_date"])
    with _quiet():
        instance = AirflowInstance(
            auth_backend=AirflowBasicAuthBackend(
                webserver_url=settings[env_vars.AIRFLOW_URL],
                username=settings[env_vars.AIRFLOW_USERNAME],
                password=settings[env_vars.AIRFLOW_PASSWORD],
            ),
            name="airflow",
        )
        defs = build_defs_from_airflow_instance(
            airflow_instance=instance,
            defs=Definitions(
                assets=assets_with_task_mappings(
                    dag_id=request["dag_id"],
                    task_mappings={
                        task: [AssetSpec(AssetKey.from_user_string(key), partitions_def=partitions_def)]
                        for task, key in task_assets.items()
                    },
                )
            ),
        )
        sensor = next(iter(defs.sensors or ()))
        # The sensor's cursor: the DAG runs that ended in this window, i.e. this one.
        cursor = AirflowPollingSensorCursor(end_date_gte=ended_at - 0.5, end_date_lte=ended_at + 0.5)
        with DagsterInstance.ephemeral() as dagster:
            context = build_sensor_context(
                instance=dagster, repository_def=defs.get_repository_def(), cursor=serialize_value(cursor)
            )
            try:
                tick = sensor.evaluate_tick(context)
                for event in tick.asset_events:
                    dagster.report_runless_asset_event(event)
                error = None
            except Exception as failed:  # noqa: BLE001 - what the tick's error would say
                error = first_line(str(failed))
            partitions = {}
            materialized = {}
            for key in task_assets.values():
                asset_key = AssetKey.from_user_string(key)
                latest = dagster.get_latest_materialization_event(asset_key)
                if latest is not None and latest.dagster_event is not None:
                    partitions[key] = latest.dagster_event.partition
                materialized[key] = set(dagster.get_materialized_partitions(asset_key))
    return Observed(error=error, partitions=partitions, materialized_partitions=materialized)


def first_line(text: str, limit: int = 200) -> str:
    """An error's first non-empty line, shortened: what a verdict row shows."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def tick_in_child() -> None:
    """The child of `observe_with_partitions`: a request on stdin, each partitioning's result on stdout."""
    request = json.load(sys.stdin)
    results = []
    for asked in request["partitionings"]:
        observed = _observe(request, asked)
        materialized = {key: sorted(days) for key, days in observed.materialized_partitions.items()}
        results.append({**asdict(observed), "materialized_partitions": materialized})
    print(json.dumps(results))
