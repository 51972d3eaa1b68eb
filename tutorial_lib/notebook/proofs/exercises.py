"""The stages' exercises: each self-check waits only for work the learner started and says what is missing."""

from __future__ import annotations

from tutorial_lib.clients.airflow import parse_time
from tutorial_lib.names import (
    AIRFLOW_RUN_ID_METADATA_KEY,
    DAG_ASSET,
    DAG_ID,
    DAG_RUN_ID_TAG_KEY,
    PROXY_OPERATOR,
    TASK_ASSETS,
    TASKS,
)
from tutorial_lib.notebook import proxied_state, views
from tutorial_lib.notebook.proofs._common import dag_flag, task_order
from tutorial_lib.notebook.verdict import Check, prove
from tutorial_lib.notebook.workbench import Workbench, midnight


def exercise_new_run_observed(
    wb: Workbench, runs_before: int, *, required: bool, timeout: float = 300
) -> None:
    """Peer: the learner triggered one more DAG run; it succeeded and Dagster materialized the DAG asset."""
    runs = wb.airflow.dag_runs(DAG_ID)
    observed = False
    state = None
    if len(runs) > runs_before:
        run = wb.latest_run()
        run = wb.airflow.wait_for_run(DAG_ID, run.run_id, timeout=timeout, show=False, raise_on_failure=False)
        state = run.state
        if state == "success":
            seen = wb.dagster.wait_for_materializations(
                [DAG_ASSET], after=run.started_at, timeout=120, show=False
            )
            observed = seen[DAG_ASSET].metadata.get(AIRFLOW_RUN_ID_METADATA_KEY) == run.run_id
    prove(
        "Exercise: a run you triggered",
        [
            Check("new DAG runs since the exercise started", 1, min(len(runs) - runs_before, 1)),
            Check("its state", "success", state),
            Check("Dagster materialized the DAG asset from it", True, observed),
        ],
        required=required,
        hint="Trigger rebuild_customers_list (Airflow UI ▶, or the command above), then run this cell again.",
    )


def exercise_origin(
    wb: Workbench, asset: str, task: str | None, run_id: str | None, *, required: bool
) -> None:
    """Observe: the learner read the producing task and Airflow run of an asset from its materialization."""
    latest = wb.dagster.materializations(asset)[0]
    prove(
        f"Exercise: where {asset} came from",
        [
            Check("the task you named", views.producing_task(latest), task),
            Check(
                "the Airflow run you named",
                True,
                run_id == latest.metadata.get(AIRFLOW_RUN_ID_METADATA_KEY),
            ),
        ],
        required=required,
        hint=f"Read both from wb.dagster.materializations({asset!r})[0].metadata.",
    )


def exercise_backfilled_day(wb: Workbench, day: str, *, required: bool, timeout: float = 300) -> None:
    """Partitions: the learner backfilled one more day; each task asset got that day's partition."""
    wanted = midnight(day)
    runs = [
        r
        for r in wb.airflow.dag_runs(DAG_ID)
        if r["logical_date"] and _same_moment(r["logical_date"], wanted)
    ]
    state, days = None, 0
    if runs:
        run = wb.airflow.wait_for_run(
            DAG_ID, runs[-1]["dag_run_id"], timeout=timeout, show=False, raise_on_failure=False
        )
        state = run.state
        if state == "success":
            seen = wb.dagster.wait_for_materializations(
                list(TASK_ASSETS), after=run.started_at, partitions=[day], timeout=120, show=False
            )
            days = sum(m.partition == day for m in seen.values())
    prove(
        f"Exercise: backfill {day}",
        [
            Check(f"Airflow runs for {day}", True, bool(runs)),
            Check("its state", "success", state),
            Check(f"task assets with a {day} partition", len(TASK_ASSETS), days),
        ],
        required=required,
        hint=f"Run the backfill command above for {day}, then run this cell again.",
    )


def _same_moment(iso: str, moment: object) -> bool:
    return parse_time(iso) == moment


def exercise_proxied_by_hand(wb: Workbench, task: str, *, required: bool) -> None:
    """Migrate: the learner set `task` to proxied in the YAML and Airflow now serves its proxy operator.

    Notices the file as it is now: checks it (a typo gets an error naming the fix), waits for Airflow.
    """
    wb.wait_for_proxied_state(show=False)
    prove(
        f"Exercise: proxy {task} by editing the YAML",
        [
            Check(
                f"{task} in the YAML",
                "proxied: true",
                "proxied: true" if wb.proxied().get(task) else "proxied: false",
            ),
            Check(f"Airflow's operator for {task}", PROXY_OPERATOR, wb.airflow.tasks(DAG_ID).get(task)),
        ],
        required=required,
        hint=f"Set `proxied: true` for {task} in the file printed above, save it, and run this cell again.",
    )


def exercise_dag_rolled_back_by_hand(wb: Workbench, *, required: bool) -> None:
    """DAG-level: the learner set the DAG's `proxied: false` in the YAML; Airflow runs the DAG's own tasks."""
    wb.wait_for_proxied_state(show=False)
    flag = proxied_state.read_dag_level(wb.workspace.proxied_state_dir, DAG_ID)
    prove(
        "Exercise: roll the DAG back by editing the YAML",
        [
            Check("the YAML", "proxied: false", dag_flag(flag)),
            Check("tasks Airflow runs", list(TASKS), sorted(wb.airflow.tasks(DAG_ID), key=task_order)),
        ],
        required=required,
        hint="Set `proxied: false` in the file linked above, save it, and run this cell again.",
    )


def _mirrored_airflow_run(wb: Workbench, asset: str) -> str | None:
    """The Airflow run behind the asset's latest materialization: its Dagster run's tag."""
    latest = wb.dagster.materializations(asset)[0]
    mirrored = wb.dagster.runs(run_ids=[latest.run_id]) if latest.run_id else []
    return mirrored[0]["tags"].get(DAG_RUN_ID_TAG_KEY) if mirrored else None


def exercise_mirrored_run(wb: Workbench, asset: str, run_id: str | None, *, required: bool) -> None:
    """Component: the learner found the Airflow run behind a materialization, through its Dagster run."""
    expected = _mirrored_airflow_run(wb, asset)
    prove(
        f"Exercise: the Airflow run behind {asset}",
        [Check("the Airflow run you named", True, bool(expected) and run_id == expected)],
        required=required,
        hint=f"Start from wb.dagster.materializations({asset!r})[0].run_id and read that run's tags.",
    )
