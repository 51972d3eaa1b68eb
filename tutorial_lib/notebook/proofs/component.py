"""Variant, the Airlift component: stage 2's assets from YAML, each Airflow run mirrored as a Dagster run."""

from __future__ import annotations

from tutorial_lib.clients.airflow import parse_time
from tutorial_lib.clients.dagster import key_string
from tutorial_lib.names import (
    CHECK_NAME,
    CSV_ASSET,
    DAG_ID,
    DAG_RUN_ID_TAG_KEY,
    DBT_ASSETS,
    OBSERVATION_RUN_TAG_KEY,
    RAW_TABLE,
    TASK_ASSETS,
    TASKS,
)
from tutorial_lib.notebook.proofs._common import asset_owners
from tutorial_lib.notebook.verdict import Check, prove
from tutorial_lib.notebook.workbench import Workbench


def component_assets(wb: Workbench) -> None:
    """Stage 2's nine task assets with their tasks and the check; the DAG is a job, not an asset."""
    owners = asset_owners(wb)
    jobs = wb.dagster.query(
        "{ repositoriesOrError { ... on RepositoryConnection { nodes { jobs { name } } } } }"
    )
    job_names = {job["name"] for repo in jobs["repositoriesOrError"]["nodes"] for job in repo["jobs"]}
    owned = {task: sorted(key for key, owner in owners.items() if owner == task) for task in TASKS}
    check_names = {
        key_string(n["assetKey"]["path"]): [c["name"] for c in n["assetChecksOrError"].get("checks", [])]
        for n in wb.dagster.asset_nodes()
    }
    prove(
        "The component gives stage 2's assets",
        [
            Check("assets", list(TASK_ASSETS), sorted(owners)),
            Check("assets of load_raw_customers", [RAW_TABLE], owned["load_raw_customers"]),
            Check("assets of build_dbt_models", list(DBT_ASSETS), owned["build_dbt_models"]),
            Check("assets of export_customers", [CSV_ASSET], owned["export_customers"]),
            Check(f"checks on {CSV_ASSET}", [CHECK_NAME], check_names.get(CSV_ASSET)),
            Check(f"a job named {DAG_ID} (the DAG)", True, DAG_ID in job_names),
            Check("materialized yet", 0, sum(bool(wb.dagster.materializations(k)) for k in TASK_ASSETS)),
        ],
    )


def component_run_observed(wb: Workbench) -> None:
    """The latest Airflow run is mirrored by one Dagster run of the DAG's job, holding the nine assets'
    materializations, each stamped when its own task ended."""
    run = wb.latest_run()
    mirrored = wb.dagster.runs(tags={DAG_RUN_ID_TAG_KEY: run.run_id})
    first = mirrored[0] if mirrored else {"runId": None, "tags": {}, "status": None, "jobName": None}
    mats = {key: found[0] for key in TASK_ASSETS if (found := wb.dagster.materializations(key))}
    in_run = {key: m for key, m in mats.items() if m.run_id == first["runId"]}
    owners = asset_owners(wb)
    ends = {
        task["task_id"]: parse_time(task["end_date"]).timestamp() for task in run.tasks if task["end_date"]
    }
    at_task_end = all(abs(m.timestamp - ends.get(owners.get(key), 0)) < 1 for key, m in in_run.items())
    prove(
        "One Airflow run, mirrored as a Dagster run",
        [
            Check("Airflow run state", "success", run.state),
            Check("Dagster runs for it", 1, len(mirrored)),
            Check("their job", DAG_ID, first["jobName"]),
            Check("status", "SUCCESS", first["status"]),
            Check(
                "an observation run (not executed)",
                "true",
                first["tags"].get(OBSERVATION_RUN_TAG_KEY),
            ),
            Check("assets materialized in that run", len(TASK_ASSETS), len(in_run)),
            Check("each in the run at its own task's end", True, bool(in_run) and at_task_end),
        ],
    )
