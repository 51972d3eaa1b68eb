"""Stage 1, peer: the DAG is one asset, materialized by each Airflow run, with a check on the CSV."""

from __future__ import annotations

from tutorial_lib.names import (
    AIRFLOW_RUN_ID_METADATA_KEY,
    CHECK_NAME,
    CSV_ROWS,
    DAG_ASSET,
    EFFECTIVE_TIMESTAMP_METADATA_KEY,
    TASKS,
)
from tutorial_lib.notebook.verdict import Check, prove
from tutorial_lib.notebook.workbench import Workbench


def dag_asset_before_any_run(wb: Workbench) -> None:
    """Dagster lists the DAG as one asset, not yet materialized."""
    keys = wb.dagster.asset_keys()
    prove(
        "Dagster peers into Airflow",
        [
            Check("assets Dagster lists", [DAG_ASSET], keys),
            Check("materializations before any run", 0, len(wb.dagster.materializations(DAG_ASSET))),
        ],
    )


def dag_run_succeeded(wb: Workbench) -> None:
    """The latest Airflow run of the DAG succeeded, every task with it."""
    run = wb.latest_run()
    prove(
        "Airflow ran the DAG",
        [Check("DAG run state", "success", run.state)]
        + [Check(f"task {task}", "success", run.task_states().get(task)) for task in TASKS],
    )


def dag_asset_materialized(wb: Workbench) -> None:
    """The DAG asset has one materialization, from the latest Airflow run, stamped with the run's end."""
    run = wb.latest_run()
    mats = wb.dagster.materializations(DAG_ASSET)
    first = mats[0] if mats else None
    stamp = first.metadata.get(EFFECTIVE_TIMESTAMP_METADATA_KEY, 0) if first else 0
    prove(
        "The DAG asset materialized from the Airflow run",
        [
            Check("materializations of the DAG asset", 1, len(mats)),
            Check(
                "it names the Airflow run",
                True,
                bool(first) and first.metadata.get(AIRFLOW_RUN_ID_METADATA_KEY) == run.run_id,
            ),
            Check(
                "its effective time is the run's end (±1 s)",
                True,
                abs(stamp - run.ended_at) < 1,
            ),
        ],
    )


def csv_check_passed(wb: Workbench, asset: str = DAG_ASSET) -> None:
    """The latest result of the CSV check on `asset` passed, counting every customer."""
    results = wb.dagster.check_results(asset, CHECK_NAME)
    latest = results[0] if results else None
    prove(
        f"{CHECK_NAME} on {asset}",
        [
            Check("check result", "passed", ("passed" if latest.passed else "failed") if latest else "none"),
            Check("rows in customers.csv", CSV_ROWS, latest.metadata.get("row_count") if latest else None),
        ],
    )
