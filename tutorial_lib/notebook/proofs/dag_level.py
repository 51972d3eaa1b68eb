"""Variant, DAG-level: the assets mapped to the DAG as a whole, and the DAG proxied as one task."""

from __future__ import annotations

import json

from tutorial_lib.clients.dagster import key_string
from tutorial_lib.names import (
    AIRFLOW_RUN_ID_METADATA_KEY,
    CHECK_NAME,
    CSV_ASSET,
    DAG_ASSET,
    DAG_ID,
    DAG_MAPPING_METADATA_KEY,
    DAG_PROXY_OPERATOR,
    DAG_RUN_ID_TAG_KEY,
    EFFECTIVE_TIMESTAMP_METADATA_KEY,
    FULL_DAG_PROXY_TAG,
    PARTITION_TAG,
    PROXY_OPERATOR,
    TASK_ASSETS,
    TASK_ID_TAG_KEY,
    TASKS,
    override_task,
)
from tutorial_lib.notebook import proxied_state
from tutorial_lib.notebook.proofs._common import asset_owners, dag_flag, task_order
from tutorial_lib.notebook.verdict import Check, prove
from tutorial_lib.notebook.workbench import Workbench

NODES_WITH_METADATA = """
{ assetNodes { assetKey { path } isExecutable isPartitioned
  metadataEntries { label __typename ... on JsonMetadataEntry { jsonString } } } }
"""


def _mapped_dags(node: dict) -> list[str]:
    """The DAG ids an asset node is mapped to as a whole (`assets_with_dag_mappings` metadata)."""
    for entry in node["metadataEntries"]:
        if entry["label"] == DAG_MAPPING_METADATA_KEY:
            return [mapping["dag_id"] for mapping in json.loads(entry["jsonString"])]
    return []


def dag_mapped_assets(wb: Workbench) -> None:
    """Nine assets mapped to the DAG (none to a task), executable, daily-partitioned, not yet materialized."""
    nodes = {
        key_string(n["assetKey"]["path"]): n for n in wb.dagster.query(NODES_WITH_METADATA)["assetNodes"]
    }
    owners = asset_owners(wb)
    assets = [nodes[key] for key in TASK_ASSETS if key in nodes]
    prove(
        "The DAG's assets are mapped to the DAG as a whole",
        [
            Check("assets", [DAG_ASSET, *TASK_ASSETS], sorted(nodes)),
            Check("mapped to the DAG", len(TASK_ASSETS), sum(_mapped_dags(n) == [DAG_ID] for n in assets)),
            Check("mapped to a task", 0, sum(owners.get(key) in TASKS for key in TASK_ASSETS)),
            Check("executable", len(TASK_ASSETS), sum(n["isExecutable"] for n in assets)),
            Check("daily partitions", len(TASK_ASSETS), sum(n["isPartitioned"] for n in assets)),
            Check("materialized yet", 0, sum(bool(wb.dagster.materializations(k)) for k in TASK_ASSETS)),
        ],
    )


def dag_run_observed_whole(wb: Workbench, day: str) -> None:
    """The latest Airflow run ran its three tasks in Airflow; the sensor recorded all nine assets for `day`,
    each stamped with the end of the whole run."""
    run = wb.latest_run()
    mats = [found[0] for key in TASK_ASSETS if (found := wb.dagster.materializations(key))]
    stamps = {m.metadata.get(EFFECTIVE_TIMESTAMP_METADATA_KEY) for m in mats}
    prove(
        f"One Airflow run for {day}, observed as a whole",
        [
            Check("Airflow run state", "success", run.state),
            Check("tasks that ran in Airflow", list(TASKS), [t["task_id"] for t in run.tasks]),
            Check("assets with a materialization", len(TASK_ASSETS), len(mats)),
            Check("their partition", {day}, {m.partition for m in mats}),
            Check(
                "all from that Airflow run",
                True,
                all(m.metadata.get(AIRFLOW_RUN_ID_METADATA_KEY) == run.run_id for m in mats),
            ),
            Check("recorded by the sensor, not by a Dagster run", 0, sum(bool(m.run_id) for m in mats)),
            Check("effective times: the run's end, one for all", 1, len(stamps)),
        ],
    )


def dag_level_operators(wb: Workbench, proxied: bool) -> None:
    """The YAML proxies the whole DAG (or not), and Airflow serves one override task (or the DAG's own)."""
    override = override_task(DAG_ID)
    expected = {override: DAG_PROXY_OPERATOR} if proxied else None
    classes = wb.airflow.tasks(DAG_ID)
    flag = proxied_state.read_dag_level(wb.workspace.proxied_state_dir, DAG_ID)
    prove(
        "Airflow runs the DAG " + ("as one task that launches Dagster" if proxied else "as its own tasks"),
        [
            Check("the YAML", f"proxied: {str(proxied).lower()}", dag_flag(flag)),
            Check(
                "tasks Airflow runs", [override] if proxied else list(TASKS), sorted(classes, key=task_order)
            ),
            Check("their operators", expected or "the DAG's own", classes if proxied else _own(classes)),
        ],
    )


def _own(classes: dict[str, str]) -> str:
    """The DAG's operators as the proofs show them: "the DAG's own", or every class if any is a proxy."""
    proxies = {PROXY_OPERATOR, DAG_PROXY_OPERATOR}
    return "the DAG's own" if not proxies & set(classes.values()) else str(classes)


def dag_proxied_run(wb: Workbench, day: str) -> None:
    """The latest Airflow run was one task, which launched one Dagster run of all nine assets for `day` (and,
    as dagster-airlift launches it, of no check)."""
    run = wb.latest_run()
    launched = wb.dagster.runs(tags={DAG_RUN_ID_TAG_KEY: run.run_id})
    first = launched[0] if launched else {"runId": None, "tags": {}, "assetSelection": [], "status": None}
    mats = [found[0] for key in TASK_ASSETS if (found := wb.dagster.materializations(key))]
    checks = wb.dagster.check_results(CSV_ASSET, CHECK_NAME)
    prove(
        f"One Dagster run for {day}, launched by Airflow",
        [
            Check("Airflow run state", "success", run.state),
            Check("tasks in the Airflow run", [override_task(DAG_ID)], [t["task_id"] for t in run.tasks]),
            Check("Dagster runs it launched", 1, len(launched)),
            Check("their task tag", FULL_DAG_PROXY_TAG, first["tags"].get(TASK_ID_TAG_KEY)),
            Check("status", "SUCCESS", first["status"]),
            Check("partition", day, first["tags"].get(PARTITION_TAG)),
            Check("assets it selected", list(TASK_ASSETS), sorted(first["assetSelection"])),
            Check(
                "assets materialized by it",
                len(TASK_ASSETS),
                sum(m.run_id == first["runId"] and m.partition == day for m in mats),
            ),
            Check("checks it ran (airlift selects none)", 0, sum(c.run_id == first["runId"] for c in checks)),
        ],
    )
