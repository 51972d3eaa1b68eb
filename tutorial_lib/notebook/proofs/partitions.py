"""Stage 3, partitions: daily partitions aligned with Airflow's logical dates; a misaligned run refused."""

from __future__ import annotations

from datetime import datetime

from tutorial_lib.names import AIRFLOW_RUN_ID_METADATA_KEY, DAG_ID, SENSOR_NAME, TASK_ASSETS
from tutorial_lib.notebook.verdict import Check, prove
from tutorial_lib.notebook.workbench import MisalignedRunError, Workbench


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
    runs_before = len(wb.airflow.dag_runs(DAG_ID))
    try:
        wb.run_dag(logical_date=datetime.fromisoformat(logical_date))
        refusal = ""
    except MisalignedRunError as refused:
        refusal = str(refused)
    prove(
        f"The workbench's guard refuses a run at {logical_date} (Airflow itself would accept it)",
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
        m for m in fresh if m.partition == day and m.metadata.get(AIRFLOW_RUN_ID_METADATA_KEY) == run.run_id
    ]
    prove(
        "The sensor observes again",
        [
            Check("sensor ticks since the run started", True, bool(since)),
            Check("failed ticks among them", 0, since.count("FAILURE")),
            Check(f"assets re-materialized for {day} by that run", len(TASK_ASSETS), len(again)),
        ],
    )
