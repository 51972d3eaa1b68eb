"""What each stage proves on the running services, as verdicts (see `verdict.py`): one call per notebook cell.

Every function reads the services' real APIs, shows a table of checks and raises `ProofFailed` when behaviour
differs from what the stage teaches, so papermill and nbval fail. Nothing shown varies from run to run.
"""

from __future__ import annotations

import json

from tutorial_lib.clients.airflow import parse_time
from tutorial_lib.clients.dagster import key_string
from tutorial_lib.notebook import proxied_state, views
from tutorial_lib.notebook.verdict import Check, prove
from tutorial_lib.notebook.workbench import (
    DAG_ID,
    DAG_PROXY_OPERATOR,
    FULL_DAG_PROXY_TAG,
    PROXY_OPERATOR,
    SENSOR_NAME,
    Workbench,
    override_task,
)

DAG_ASSET = f"airflow/dag/{DAG_ID}"
TASKS = ("load_raw_customers", "build_dbt_models", "export_customers")
RAW_TABLE, CSV_ASSET = "raw_data/raw_customers", "customers_csv"
DBT_ASSETS = (
    "customers",
    "orders",
    "raw_orders",
    "raw_payments",
    "stg_customers",
    "stg_orders",
    "stg_payments",
)
TASK_ASSETS = tuple(sorted((RAW_TABLE, *DBT_ASSETS, CSV_ASSET)))
CHECK_NAME = "validate_exported_csv"
CSV_ROWS = 100


# ---- stage 1: peer


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
    stamp = first.metadata.get("dagster-airlift/effective-timestamp", 0) if first else 0
    prove(
        "The DAG asset materialized from the Airflow run",
        [
            Check("materializations of the DAG asset", 1, len(mats)),
            Check(
                "it names the Airflow run",
                True,
                bool(first) and first.metadata.get("dagster-airlift/airflow-run-id") == run.run_id,
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


# ---- stage 2: observe


def task_mapped_assets(wb: Workbench) -> None:
    """Ten assets: the DAG and each task's own, none materialized yet."""
    keys = wb.dagster.asset_keys()
    owners = {node.key: node.owner for node in views.asset_graph(wb.dagster)}
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
    owners = {node.key: node.owner for node in views.asset_graph(wb.dagster)}
    mats = {key: found[0] for key in owners if (found := wb.dagster.materializations(key))}
    produced_by = {key: views.producing_task(m) for key, m in mats.items() if key != DAG_ASSET}
    ended = {key: m.metadata.get("dagster-airlift/effective-timestamp", 0) for key, m in mats.items()}
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
                all(m.metadata.get("dagster-airlift/airflow-run-id") == run.run_id for m in mats.values()),
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


# ---- stage 3: partitions


def daily_partitions(wb: Workbench, first_day: str) -> None:
    """Nine daily-partitioned assets starting at the DAG's start date; the DAG asset has none."""
    nodes = wb.dagster.query("{ assetNodes { assetKey { path } partitionKeys } }")["assetNodes"]
    keys = {"/".join(n["assetKey"]["path"]): n["partitionKeys"] for n in nodes}
    partitioned = sorted(key for key, days in keys.items() if days)
    prove(
        "Daily partitions on the task assets",
        [
            Check("assets", 10, len(keys)),
            Check("assets with daily partitions", list(TASK_ASSETS), partitioned),
            Check("first partition", {first_day}, {days[0] for days in keys.values() if days}),
        ],
    )


def partitions_materialized(wb: Workbench, days: list[str]) -> None:
    """Exactly these days' partitions are materialized, once each, with no failure."""
    stats = wb.dagster.partition_stats()
    found = {tuple(sorted({m.partition for m in wb.dagster.materializations(key)})) for key in TASK_ASSETS}
    prove(
        "Backfilled days became partitions",
        [
            Check("partitions materialized, on every task asset", {tuple(days)}, found),
            Check(
                "materialized partitions per asset",
                {len(days)},
                {s["numMaterialized"] for s in stats.values()},
            ),
            Check("failed partitions", {0}, {s["numFailed"] for s in stats.values()}),
        ],
    )


def misaligned_run_refused(wb: Workbench, logical_date: str) -> None:
    """The workbench refuses to trigger a run whose logical date starts no partition, saying why."""
    from datetime import datetime

    from tutorial_lib.notebook.workbench import MisalignedRunError

    runs_before = len(wb.airflow.dag_runs(DAG_ID))
    try:
        wb.run_dag(logical_date=datetime.fromisoformat(logical_date))
        refusal = ""
    except MisalignedRunError as refused:
        refusal = str(refused)
    prove(
        f"A run at {logical_date} is refused",
        [
            Check(
                "refused, naming the partition rule", True, "not the start of a daily partition" in refusal
            ),
            Check("runs triggered in Airflow", 0, len(wb.airflow.dag_runs(DAG_ID)) - runs_before),
        ],
    )


def sensor_failing_on(wb: Workbench, logical_date: str) -> None:
    """The airlift sensor's latest finished tick failed on the misaligned logical date."""
    latest = next((t for t in wb.dagster.sensor_ticks(SENSOR_NAME) if t["status"] != "STARTED"), {})
    prove(
        "A misaligned run blocks the sensor",
        [
            Check("latest sensor tick", "FAILURE", latest.get("status")),
            Check(
                "its error names the logical date",
                True,
                f"Expected logical date {logical_date} to match a partition" in (latest.get("error") or ""),
            ),
        ],
    )


def sensor_recovered(wb: Workbench, day: str) -> None:
    """No tick failed since the latest run started, and that run's day was observed again."""
    run = wb.latest_run()
    ticks = wb.dagster.sensor_ticks(SENSOR_NAME, limit=100)
    since = [t["status"] for t in ticks if t["timestamp"] >= run.started_at and t["status"] != "STARTED"]
    fresh = [found[0] for key in TASK_ASSETS if (found := wb.dagster.materializations(key))]
    again = [
        m
        for m in fresh
        if m.partition == day and m.metadata.get("dagster-airlift/airflow-run-id") == run.run_id
    ]
    prove(
        "The sensor observes again",
        [
            Check("sensor ticks since the run started", True, bool(since)),
            Check("failed ticks among them", 0, since.count("FAILURE")),
            Check(f"assets re-materialized for {day} by that run", len(TASK_ASSETS), len(again)),
        ],
    )


# ---- stage 4: migrate


def executable_assets(wb: Workbench) -> None:
    """Nine executable task assets, the DAG asset not, and nothing proxied yet."""
    nodes = wb.dagster.query("{ assetNodes { assetKey { path } isExecutable } }")["assetNodes"]
    executable = sorted("/".join(n["assetKey"]["path"]) for n in nodes if n["isExecutable"])
    prove(
        "The task assets can run in Dagster",
        [
            Check("assets", 10, len(nodes)),
            Check("executable in Dagster", list(TASK_ASSETS), executable),
            Check("proxied tasks in the YAML", [], [task for task, on in wb.proxied().items() if on]),
        ],
    )


def operators_follow_proxied_state(wb: Workbench) -> None:
    """Airflow serves a proxy operator for exactly the tasks the workspace's YAML marks proxied."""
    states = wb.proxied()
    operators = wb.airflow.tasks(DAG_ID)
    prove(
        "Airflow swapped the operators",
        [
            Check(
                f"{task} (proxied: {'true' if states[task] else 'false'})",
                states[task],
                operators[task] == PROXY_OPERATOR,
            )
            for task in TASKS
        ],
    )


def executed_in(wb: Workbench, where: dict[str, str], day: str) -> None:
    """The latest run ran each task where `where` says; its Dagster runs succeeded for the run's day."""
    run = wb.latest_run()
    table = {row["task"]: row for row in wb.executions(run)}
    launched = [row for row in table.values() if row["executed in"] == "Dagster"]
    fresh = [found[0] for key in TASK_ASSETS if (found := wb.dagster.materializations(key))]
    prove(
        f"Run for {day}",
        [Check(f"{task} executed in", where[task], table[task]["executed in"]) for task in TASKS]
        + [
            Check("Airflow run state", "success", run.state),
            Check(
                "Dagster runs launched by Airflow", sum(v == "Dagster" for v in where.values()), len(launched)
            ),
            Check(
                "their status",
                {"SUCCESS"} if launched else set(),
                {row["Dagster status"] for row in launched},
            ),
            Check("their partition", {day} if launched else set(), {row["partition"] for row in launched}),
            Check(
                f"task assets with a {day} materialization",
                len(TASK_ASSETS),
                sum(m.partition == day for m in fresh),
            ),
        ],
    )


def dbt_assets_from_the_proxied_run(wb: Workbench) -> None:
    """The proxied dbt task's Dagster run selected and materialized exactly the seven dbt assets."""
    run = wb.latest_run()
    tags = {
        "dagster-airlift/airflow-dag-run-id": run.run_id,
        "dagster-airlift/airflow-task-id": "build_dbt_models",
    }
    launched = wb.dagster.runs(tags=tags)
    run_id = launched[0]["runId"] if launched else None
    latest = {key: wb.dagster.materializations(key)[0] for key in DBT_ASSETS}
    prove(
        "build_dbt_models ran as one Dagster run",
        [
            Check("Dagster runs for the task", 1, len(launched)),
            Check(
                "assets it selected",
                list(DBT_ASSETS),
                sorted(launched[0]["assetSelection"]) if launched else [],
            ),
            Check(
                "dbt assets materialized by it",
                len(DBT_ASSETS),
                sum(m.run_id == run_id for m in latest.values()),
            ),
        ],
    )


def task_graph_and_history_kept(wb: Workbench, days: list[str]) -> None:
    """Airflow keeps the DAG's task graph and a run per backfilled day."""
    prove(
        "Airflow keeps the schedule's record",
        [
            Check(
                "task graph",
                {
                    "load_raw_customers": ["build_dbt_models"],
                    "build_dbt_models": ["export_customers"],
                    "export_customers": [],
                },
                wb.airflow.task_graph(DAG_ID),
            ),
            Check(
                "runs, by logical date", days, [r["logical_date"][:10] for r in wb.airflow.dag_runs(DAG_ID)]
            ),
        ],
    )


def proxied_failure(wb: Workbench, task: str, reason: str) -> None:
    """The latest run failed at `task`, whose Dagster run failed for `reason`; the raw CSV is intact."""
    run = wb.latest_run()
    tags = {"dagster-airlift/airflow-dag-run-id": run.run_id, "dagster-airlift/airflow-task-id": task}
    launched = wb.dagster.runs(tags=tags)
    errors = wb.dagster.run_errors(launched[0]["runId"]) if launched else []
    prove(
        "A failing proxied task fails in both places",
        [
            Check("Airflow run state", "failed", run.state),
            Check(f"Airflow task {task}", "failed", run.task_states().get(task)),
            Check("its Dagster run", "FAILURE", launched[0]["status"] if launched else None),
            Check("the Dagster error names the cause", True, any(reason in error for error in errors)),
            Check(
                "raw CSV restored afterwards",
                True,
                "101,Broken" not in wb.workspace.raw_customers_csv.read_text(),
            ),
        ],
    )


# ---- stage 5: decommission


def airflow_gone(wb: Workbench) -> None:
    """Airflow is stopped; Dagster still runs."""
    from tutorial_lib import services

    report = services.status(wb.workspace)["services"]
    prove(
        "Airflow is gone",
        [
            Check("Airflow running", False, report["airflow"]["running"]),
            Check("Dagster running", True, report["dagster"]["running"]),
        ],
    )


def dagster_alone(wb: Workbench) -> None:
    """Nine executable assets, no DAG asset, nothing materialized yet."""
    nodes = wb.dagster.query("{ assetNodes { assetKey { path } isExecutable } }")["assetNodes"]
    keys = sorted("/".join(n["assetKey"]["path"]) for n in nodes)
    prove(
        "Dagster owns the assets",
        [
            Check("assets", list(TASK_ASSETS), keys),
            Check("executable", len(TASK_ASSETS), sum(n["isExecutable"] for n in nodes)),
            Check("materialized yet", 0, sum(bool(wb.dagster.materializations(key)) for key in keys)),
        ],
    )


def job_materialized(wb: Workbench, day: str) -> None:
    """One Dagster run for the day materialized every asset and ran the check, which passed."""
    runs = wb.dagster.runs(tags={"dagster/partition": day})
    run_id = runs[0]["runId"] if runs else None
    mats = [found[0] for key in TASK_ASSETS if (found := wb.dagster.materializations(key))]
    checks = wb.dagster.check_results(CSV_ASSET, CHECK_NAME)
    prove(
        f"Dagster materialized {day} on its own",
        [
            Check("runs for the partition", 1, len(runs)),
            Check("run status", "SUCCESS", runs[0]["status"] if runs else None),
            Check(
                "assets materialized by it",
                len(TASK_ASSETS),
                sum(m.run_id == run_id and m.partition == day for m in mats),
            ),
            Check(
                f"{CHECK_NAME} in the same run",
                "passed",
                "passed" if checks and checks[0].run_id == run_id and checks[0].passed else "no",
            ),
            Check("rows in customers.csv", CSV_ROWS, checks[0].metadata.get("row_count") if checks else None),
        ],
    )


def daily_schedule(wb: Workbench, name: str, status: str, *, required: bool = True) -> None:
    """The schedule runs at 00:00 UTC every day and is in the given status."""
    schedule = wb.dagster.schedule(name)
    prove(
        f"The schedule {name}",
        [
            Check("cron", "0 0 * * *", schedule["cron"]),
            Check("timezone", "UTC", schedule["timezone"]),
            Check("status", status, schedule["status"]),
        ],
        required=required,
        hint="Start the schedule (its toggle in the Dagster UI, or the command above); run this cell again.",
    )


# ---- variant: DAG-level migration

NODES_WITH_METADATA = """
{ assetNodes { assetKey { path } isExecutable isPartitioned
  metadataEntries { label __typename ... on JsonMetadataEntry { jsonString } } } }
"""


def _mapped_dags(node: dict) -> list[str]:
    """The DAG ids an asset node is mapped to as a whole (`assets_with_dag_mappings` metadata)."""
    for entry in node["metadataEntries"]:
        if entry["label"] == "dagster-airlift/dag-mapping":
            return [mapping["dag_id"] for mapping in json.loads(entry["jsonString"])]
    return []


def dag_mapped_assets(wb: Workbench) -> None:
    """Nine assets mapped to the DAG (none to a task), executable, daily-partitioned, not yet materialized."""
    nodes = {
        key_string(n["assetKey"]["path"]): n for n in wb.dagster.query(NODES_WITH_METADATA)["assetNodes"]
    }
    owners = {node.key: node.owner for node in views.asset_graph(wb.dagster)}
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
    stamps = {m.metadata.get("dagster-airlift/effective-timestamp") for m in mats}
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
                all(m.metadata.get("dagster-airlift/airflow-run-id") == run.run_id for m in mats),
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
            Check("the YAML", f"proxied: {str(proxied).lower()}", _dag_flag(flag)),
            Check(
                "tasks Airflow runs", [override] if proxied else list(TASKS), sorted(classes, key=_task_order)
            ),
            Check("their operators", expected or "the DAG's own", classes if proxied else _own(classes)),
        ],
    )


def _dag_flag(flag: bool | None) -> str:
    return "task by task (tasks:)" if flag is None else f"proxied: {str(flag).lower()}"


def _task_order(task: str) -> int:
    return TASKS.index(task) if task in TASKS else -1


def _own(classes: dict[str, str]) -> str:
    proxies = {PROXY_OPERATOR, DAG_PROXY_OPERATOR}
    return "the DAG's own" if not proxies & set(classes.values()) else str(classes)


def dag_proxied_run(wb: Workbench, day: str) -> None:
    """The latest Airflow run was one task, which launched one Dagster run of all nine assets for `day` (and,
    as dagster-airlift launches it, of no check)."""
    run = wb.latest_run()
    launched = wb.dagster.runs(tags={"dagster-airlift/airflow-dag-run-id": run.run_id})
    first = launched[0] if launched else {"runId": None, "tags": {}, "assetSelection": [], "status": None}
    mats = [found[0] for key in TASK_ASSETS if (found := wb.dagster.materializations(key))]
    checks = wb.dagster.check_results(CSV_ASSET, CHECK_NAME)
    prove(
        f"One Dagster run for {day}, launched by Airflow",
        [
            Check("Airflow run state", "success", run.state),
            Check("tasks in the Airflow run", [override_task(DAG_ID)], [t["task_id"] for t in run.tasks]),
            Check("Dagster runs it launched", 1, len(launched)),
            Check("their task tag", FULL_DAG_PROXY_TAG, first["tags"].get("dagster-airlift/airflow-task-id")),
            Check("status", "SUCCESS", first["status"]),
            Check("partition", day, first["tags"].get("dagster/partition")),
            Check("assets it selected", list(TASK_ASSETS), sorted(first["assetSelection"])),
            Check(
                "assets materialized by it",
                len(TASK_ASSETS),
                sum(m.run_id == first["runId"] and m.partition == day for m in mats),
            ),
            Check("checks it ran (airlift selects none)", 0, sum(c.run_id == first["runId"] for c in checks)),
        ],
    )


# ---- variant: the Airlift component


def component_assets(wb: Workbench) -> None:
    """Stage 2's nine task assets with their tasks and the check; the DAG is a job, not an asset."""
    owners = {node.key: node.owner for node in views.asset_graph(wb.dagster)}
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
    mirrored = wb.dagster.runs(tags={"dagster-airlift/airflow-dag-run-id": run.run_id})
    first = mirrored[0] if mirrored else {"runId": None, "tags": {}, "status": None, "jobName": None}
    mats = {key: found[0] for key in TASK_ASSETS if (found := wb.dagster.materializations(key))}
    owners = {node.key: node.owner for node in views.asset_graph(wb.dagster)}
    ends = {
        task["task_id"]: parse_time(task["end_date"]).timestamp() for task in run.tasks if task["end_date"]
    }
    at_task_end = all(abs(m.timestamp - ends.get(owners.get(key), 0)) < 1 for key, m in mats.items())
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
                first["tags"].get("dagster-airlift/observation-run"),
            ),
            Check(
                "assets materialized in it",
                len(TASK_ASSETS),
                sum(m.run_id == first["runId"] for m in mats.values()),
            ),
            Check("each at its own task's end", True, bool(mats) and at_task_end),
        ],
    )


# ---- exercises: each self-check waits only for work the learner started, and says what is missing


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
            observed = seen[DAG_ASSET].metadata.get("dagster-airlift/airflow-run-id") == run.run_id
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
                run_id == latest.metadata.get("dagster-airlift/airflow-run-id"),
            ),
        ],
        required=required,
        hint=f"Read both from wb.dagster.materializations({asset!r})[0].metadata.",
    )


def exercise_backfilled_day(wb: Workbench, day: str, *, required: bool, timeout: float = 300) -> None:
    """Partitions: the learner backfilled one more day; each task asset got that day's partition."""
    from tutorial_lib.notebook.workbench import midnight

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
    from tutorial_lib.clients.airflow import parse_time

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
            Check("the YAML", "proxied: false", _dag_flag(flag)),
            Check("tasks Airflow runs", list(TASKS), sorted(wb.airflow.tasks(DAG_ID), key=_task_order)),
        ],
        required=required,
        hint="Set `proxied: false` in the file linked above, save it, and run this cell again.",
    )


def exercise_mirrored_run(wb: Workbench, asset: str, run_id: str | None, *, required: bool) -> None:
    """Component: the learner found the Airflow run behind a materialization, through its Dagster run."""
    latest = wb.dagster.materializations(asset)[0]
    mirrored = wb.dagster.runs(run_ids=[latest.run_id]) if latest.run_id else []
    expected = mirrored[0]["tags"].get("dagster-airlift/airflow-dag-run-id") if mirrored else None
    prove(
        f"Exercise: the Airflow run behind {asset}",
        [Check("the Airflow run you named", True, bool(expected) and run_id == expected)],
        required=required,
        hint=f"Start from wb.dagster.materializations({asset!r})[0].run_id and read that run's tags.",
    )
