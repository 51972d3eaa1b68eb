"""Stage 2, observe: each task's assets, materialized from the Airflow run that the sensor observed."""

from __future__ import annotations

from tutorial_lib.names import (
    AIRFLOW_RUN_ID_METADATA_KEY,
    CSV_ASSET,
    DAG_ASSET,
    DBT_ASSETS,
    EFFECTIVE_TIMESTAMP_METADATA_KEY,
    RAW_TABLE,
    TASKS,
)
from tutorial_lib.notebook import views
from tutorial_lib.notebook.proofs._common import asset_owners
from tutorial_lib.notebook.verdict import Check, prove
from tutorial_lib.notebook.workbench import Workbench


def task_mapped_assets(wb: Workbench) -> None:
    """Ten assets: the DAG and each task's own, none materialized yet."""
    keys = wb.dagster.asset_keys()
    owners = asset_owners(wb)
    owned = {task: sorted(key for key, owner in owners.items() if owner == task) for task in TASKS}
    prove(
        "Each task is mapped to the assets it produces",
        [
            Check("assets", 10, len(keys)),
            Check("assets of load_raw_customers", [RAW_TABLE], owned["load_raw_customers"]),
            Check("assets of build_dbt_models", list(DBT_ASSETS), owned["build_dbt_models"]),
            Check("assets of export_customers", [CSV_ASSET], owned["export_customers"]),
            Check("materialized before the run", 0, sum(bool(wb.dagster.materializations(k)) for k in keys)),
        ],
    )


def run_observed_per_task(wb: Workbench) -> None:
    """All ten assets materialized from the latest run, each naming its task, stamped in task order."""
    run = wb.latest_run()
    run_end = run.ended_at
    owners = asset_owners(wb)
    mats = {key: found[0] for key in owners if (found := wb.dagster.materializations(key))}
    produced_by = {key: views.producing_task(m) for key, m in mats.items() if key != DAG_ASSET}
    ended = {key: m.metadata.get(EFFECTIVE_TIMESTAMP_METADATA_KEY, 0) for key, m in mats.items()}
    by_task = [
        [ended[key] for key, owner in owners.items() if owner == task and key in ended] for task in TASKS
    ]
    in_order = all(by_task) and max(by_task[0]) <= min(by_task[1]) <= max(by_task[1]) <= min(by_task[2])
    prove(
        "One Airflow run, observed asset by asset",
        [
            Check("assets materialized", 10, len(mats)),
            Check(
                "all from the latest Airflow run",
                True,
                all(m.metadata.get(AIRFLOW_RUN_ID_METADATA_KEY) == run.run_id for m in mats.values()),
            ),
            Check(
                "each names the task that produced it",
                True,
                produced_by == {k: owners[k] for k in produced_by},
            ),
            Check("effective times follow the task order", True, bool(in_order)),
            Check(
                "recorded after the whole DAG run ended",
                True,
                all(m.timestamp >= run_end for m in mats.values()),
            ),
        ],
    )
