"""The fix to dagster-airlift's monitoring job: one Dagster run per Airflow run, whichever way the job's
ranges fall. A scripted Airflow (a unit test: the Airflow side is stubbed, Dagster's instance is real)
replays the race that split the mirrored run under load."""

from __future__ import annotations

import datetime
import importlib.util
import logging
from dataclasses import dataclass, field
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from dagster import AssetKey, DagsterInstance
from dagster._core.storage.dagster_run import RunsFilter
from dagster_airlift.constants import DAG_RUN_ID_TAG_KEY
from dagster_airlift.core.runtime_representations import DagRun, TaskInstance
from dagster_airlift.core.serialization.serialized_data import DagHandle, TaskHandle

from tutorial_lib import services, tuning

DAG = "rebuild_customers_list"
RUN = "manual__2026-12-05T10:00:10+00:00"
LOAD, EXPORT = AssetKey("raw_customers"), AssetKey("customers_csv")
T0 = datetime.datetime(2026, 12, 5, 10, 0, tzinfo=datetime.UTC)


def at(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


@dataclass
class ScriptedAirflow:
    """One DAG run that started at 10 s and ended at 20 s, with a task ending at 12 s and one at 18 s, as the
    REST API shows it once the run is over (the job of a range ran late, on a busy machine)."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    def run(self) -> DagRun:
        meta = {"state": "success", "start_date": at(10).isoformat(), "end_date": at(20).isoformat()}
        return DagRun(webserver_url="http://airflow", dag_id=DAG, run_id=RUN, metadata=meta)

    def get_dag_runs_batch(self, *, states: list[str], dag_ids: list[str], offset: int = 0, **dates: Any):
        self.calls.append({"states": states, **dates})
        run = self.run()
        times = {"start": run.start_date, "end": run.end_date}
        inside = all(
            (when >= bound if name.endswith("_gte") else when <= bound)
            for name, bound in dates.items()
            if bound is not None
            for when in [times[name.split("_")[0]]]
        )
        found = [run] if inside and run.state in states and DAG in dag_ids else []
        return found, len(found)

    def get_task_instance_batch_time_range(self, *, end_date_gte, end_date_lte, **_: Any):
        ends = {"load_raw_customers": at(12), "export_customers": at(18)}
        return [
            TaskInstance(
                webserver_url="http://airflow",
                dag_id=DAG,
                task_id=task,
                run_id=RUN,
                metadata={"state": "success", "end_date": end.isoformat(), "try_number": 1},
            )
            for task, end in ends.items()
            if end_date_gte <= end <= end_date_lte
        ]

    def get_task_instance_logs(self, *args: Any) -> str:
        return ""


def event_stream(fixed: bool) -> ModuleType:
    """A fresh copy of dagster-airlift's event_stream module, with the workbench's fix applied or not."""
    spec = importlib.util.find_spec("dagster_airlift.core.monitoring_job.event_stream")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if fixed:
        fix_spec = importlib.util.spec_from_file_location(
            "_airlift_mirrored_runs", services.DAGSTER_STARTUP / "_airlift_mirrored_runs.py"
        )
        assert fix_spec is not None and fix_spec.loader is not None
        fix = importlib.util.module_from_spec(fix_spec)
        fix_spec.loader.exec_module(fix)
        fix.apply(module)
    return module


def mirror(fixed: bool, ranges: list[tuple[float, float]]) -> tuple[list[Any], dict[AssetKey, str | None]]:
    """Run the monitoring job's event processing over `ranges` (seconds after T0); return the Dagster runs
    that mirror the Airflow run and, for each task asset, the run its materialization is in."""
    module = event_stream(fixed)
    airflow = ScriptedAirflow()
    data = SimpleNamespace(
        airflow_mapped_jobs_by_dag_handle={DagHandle(dag_id=DAG): SimpleNamespace(name=DAG)},
        all_asset_keys_by_dag_handle={DagHandle(dag_id=DAG): set()},
        mapped_asset_keys_by_task_handle={
            TaskHandle(dag_id=DAG, task_id="load_raw_customers"): {LOAD},
            TaskHandle(dag_id=DAG, task_id="export_customers"): {EXPORT},
        },
        dag_ids_with_mapped_asset_keys={DAG},
    )
    with DagsterInstance.ephemeral() as instance:
        context = SimpleNamespace(
            instance=instance, run=SimpleNamespace(remote_job_origin=None), log=logging.getLogger("job")
        )
        for start, end in ranges:
            module.persist_events(context, data, airflow, at(start).timestamp(), at(end).timestamp())
        runs = instance.get_runs(filters=RunsFilter(tags={DAG_RUN_ID_TAG_KEY: RUN}))
        where = {}
        for key in (LOAD, EXPORT):
            record = instance.get_latest_materialization_event(key)
            where[key] = record.run_id or None if record else "missing"
        return runs, where


# A quiet sensor tick at 15 s falls in the middle of the DAG run (10 s to 20 s).
SPLIT_BY_A_TICK = [(0, 15), (15, 30)]


def test_stock_dagster_airlift_splits_a_run_that_a_range_ends_in_the_middle_of() -> None:
    runs, where = mirror(fixed=False, ranges=SPLIT_BY_A_TICK)
    assert len(runs) == 1 and where[LOAD] is None and where[EXPORT] == runs[0].run_id, (runs, where)


def test_the_fix_mirrors_the_airflow_run_as_one_dagster_run_holding_every_task_asset() -> None:
    runs, where = mirror(fixed=True, ranges=SPLIT_BY_A_TICK)
    assert len(runs) == 1, runs
    assert where == {LOAD: runs[0].run_id, EXPORT: runs[0].run_id}


@pytest.mark.parametrize("ranges", [[(0, 30)], [(0, 10), (10, 12), (12, 30)], [(0, 19), (19, 30)]])
def test_the_fix_starts_one_mirrored_run_however_the_ranges_fall(ranges: list[tuple[float, float]]) -> None:
    runs, where = mirror(fixed=True, ranges=ranges)
    assert len(runs) == 1 and set(where.values()) == {runs[0].run_id}, (runs, where)


def test_the_fix_is_hooked_into_dagsters_processes_with_the_locked_dagster_airlift(tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    from tutorial_lib.workspace import Workspace

    assert tuning.state("airlift_mirrored_run_fix") == "live"
    probe = (
        "from dagster_airlift.core.monitoring_job import builder, event_stream;"
        "print(builder.persist_events.__qualname__, event_stream.persist_events is builder.persist_events)"
    )
    env = {**services.dagster_env(Workspace(tmp_path / "ws").ensure()), "PATH": os.environ["PATH"]}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["apply.<locals>.persist_events", "True"], done.stdout
