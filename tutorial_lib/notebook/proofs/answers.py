"""The answers to the notebooks' reading and doing exercises, kept out of the learners' cells.

A notebook calls one only when `SOLUTIONS` is true (as `airlift-tutorial run` and CI do), so that every
exercise is proven solvable; a learner finds their own answer in the cell above the call.
"""

from __future__ import annotations

from tutorial_lib.names import AIRFLOW_RUN_ID_METADATA_KEY, DAG_ID, SCHEDULE_NAME
from tutorial_lib.notebook import views
from tutorial_lib.notebook.workbench import Workbench


def trigger_run(wb: Workbench) -> None:
    """Peer: trigger the DAG as a learner would from a terminal."""
    wb.cli("airflow", "dags", "trigger", DAG_ID)


def origin(wb: Workbench, asset: str) -> tuple[str | None, str | None]:
    """Observe: the task and the Airflow run that produced the asset's latest materialization."""
    latest = wb.dagster.materializations(asset)[0]
    return views.producing_task(latest), latest.metadata.get(AIRFLOW_RUN_ID_METADATA_KEY)


def backfill_from_cli(wb: Workbench, day: str) -> None:
    """Partitions: backfill one day with Airflow's command line."""
    wb.cli("airflow", "dags", "backfill", "--start-date", day, "--end-date", day, DAG_ID)


def scaffold_proxied_state(wb: Workbench) -> None:
    """Migrate: the proxied-state YAML, made by upstream's command, as a learner runs it in a terminal."""
    if not wb.proxied_state_file.exists():
        wb.cli("dagster-airlift", "proxy", "scaffold")


def proxy_by_hand(wb: Workbench, task: str) -> None:
    """Migrate: the learner's YAML edit, made in Python: `proxied: true` for one task."""
    text = wb.proxied_state_file.read_text()
    wb.proxied_state_file.write_text(
        text.replace(f"{task}\n    proxied: false", f"{task}\n    proxied: true")
    )


def start_schedule(wb: Workbench) -> None:
    """Decommission: what the schedule's toggle in the UI does."""
    wb.dagster.set_schedule_running(SCHEDULE_NAME, True)


def roll_back_by_hand(wb: Workbench) -> None:
    """DAG-level: the learner's YAML edit, made in Python: the DAG back to `proxied: false`."""
    wb.proxied_state_file.write_text(
        wb.proxied_state_file.read_text().replace("proxied: true", "proxied: false")
    )


def mirrored_run(wb: Workbench, asset: str) -> str:
    """Component: the Airflow run that the Dagster run of the asset's latest materialization mirrors."""
    from tutorial_lib.notebook.proofs.exercises import _mirrored_airflow_run

    return _mirrored_airflow_run(wb, asset)
