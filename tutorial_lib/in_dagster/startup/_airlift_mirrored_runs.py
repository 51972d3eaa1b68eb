"""A fix to dagster-airlift 0.29's monitoring job, which mirrors each Airflow DAG run as one Dagster run (the
Airlift component's way): the mirrored run holds all of its tasks' assets, wherever the job's ranges fall.

The monitoring job processes a range of time: the DAG runs that started in it, the runs and task instances
that ended in it. Upstream looks for the runs that started in the range only among those still running or
queued when the job runs. When a range ends in the middle of a DAG run (a quiet sensor tick) and its job
runs after the DAG run has finished (a busy machine), the start is missed: the assets of the tasks that
ended in that range are recorded outside any run, and the mirrored run is created late, with the next
range, holding the rest. A DAG run that ends between the job's two queries is mirrored twice.

Here the started runs are looked for in every state, and a DAG run that a Dagster run already mirrors (from
an earlier range, or from this one) is not started again.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

# Every state a started DAG run can be in by the time the job looks.
STARTED_STATES = ["queued", "running", "success", "failed"]


def apply(module: ModuleType) -> None:
    """Replace `persist_events` of airlift's monitoring_job.event_stream module (nothing if it is gone)."""
    needed = ("persist_events", "_process_completed_runs", "_process_task_instances", "DagRunStarted")
    if not all(hasattr(module, name) for name in needed):
        return
    from dagster._time import datetime_from_timestamp
    from dagster_airlift.core.monitoring_job.utils import get_dagster_run_for_airflow_repr, structured_log

    def started_runs(context: Any, airflow_data: Any, airflow_instance: Any, start: float, end: float):
        dag_ids = [handle.dag_id for handle in airflow_data.airflow_mapped_jobs_by_dag_handle]
        offset = 0
        while True:
            runs, total = airflow_instance.get_dag_runs_batch(
                states=STARTED_STATES,
                dag_ids=dag_ids,
                start_date_gte=datetime_from_timestamp(start),
                start_date_lte=datetime_from_timestamp(end),
                offset=offset,
            )
            structured_log(context, f"Found {len(runs)} runs started in the range, in any state")
            yield from (module.DagRunStarted(dag_run=run) for run in runs)
            offset += len(runs)
            if not runs or offset >= total:
                break

    def persist_events(
        context: Any, airflow_data: Any, airflow_instance: Any, start: float, end: float
    ) -> None:
        events = [
            *started_runs(context, airflow_data, airflow_instance, start, end),
            *module._process_completed_runs(context, airflow_data, airflow_instance, start, end),
            *module._process_task_instances(context, airflow_data, airflow_instance, start, end),
        ]
        mirrored: set[tuple[str, str]] = set()
        for event in sorted(events, key=lambda event: event.timestamp):
            if isinstance(event, module.DagRunStarted):
                key = (event.dag_run.dag_id, event.dag_run.run_id)
                if key in mirrored or get_dagster_run_for_airflow_repr(context, event.dag_run):
                    continue
                mirrored.add(key)
            event.persist_state(context, airflow_data, airflow_instance)

    persist_events.__wrapped__ = module.persist_events  # type: ignore[attr-defined]
    module.persist_events = persist_events
