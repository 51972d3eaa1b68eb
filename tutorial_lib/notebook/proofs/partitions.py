"""Stage 3, partitions: daily partitions aligned with Airflow's logical dates; a misaligned run refused; what
a static partitions definition gets; what `airflow db clean` keeps."""

from __future__ import annotations

from datetime import datetime

from customers_pipeline.schedule import START_DATE
from tutorial_lib.clients.airflow import parse_time
from tutorial_lib.names import (
    AIRFLOW_RUN_ID_METADATA_KEY,
    CSV_ASSET,
    DAG_ID,
    RAW_TABLE,
    SENSOR_NAME,
    TASK_ASSETS,
    TASKS,
)
from tutorial_lib.notebook.proofs.caveats import (
    airflow_runs,
    kept_by_db_clean,
    observe_with_partitions,
    observed_run,
    remembered_runs,
)
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
    """No tick failed since the latest run of `day` started, and that run's day was observed again (the run
    of the day, not the latest: the cell still proves it after the exercise's backfill of another day)."""
    runs = wb.airflow.dag_runs(DAG_ID)
    of_day = [r for r in runs if r["logical_date"].startswith(day) and r.get("start_date")]
    newest = max(of_day, key=lambda r: r["start_date"], default=None)
    run = wb.airflow.dag_run(DAG_ID, newest["dag_run_id"]) if newest else wb.latest_run()
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


def db_clean_kept(wb: Workbench) -> None:
    """`airflow db clean --tables dag_run` kept exactly what Airflow's rule says: per DAG, the newest run not
    triggered by hand; the runs triggered by hand are gone, and so are the kept run's task instances. Compares
    with the runs `remember_runs` stored before the clean-up."""
    before, moment = remembered_runs(wb)
    after = airflow_runs(wb)
    started_before = {run.run_id for run in before if run.start_date and parse_time(run.start_date) < moment}
    expected = [run for run in kept_by_db_clean(before, moment) if run.run_id in started_before]
    left = [run for run in after if run.run_id in started_before]
    newest = max(
        (run for run in before if run.run_id in started_before and not run.external_trigger),
        key=lambda run: parse_time(run.start_date or ""),
        default=None,
    )
    prove(
        "`airflow db clean` keeps each DAG's newest run not triggered by hand",
        [
            Check(
                "runs left, of those started before the cut-off",
                [r.label for r in expected],
                [r.label for r in left],
            ),
            Check(
                "the newest one not triggered by hand (a backfill) is kept",
                newest is not None,
                newest is not None and newest.run_id in {run.run_id for run in after},
            ),
            Check("runs deleted", len(started_before) - len(expected), len(started_before) - len(left)),
            Check("runs triggered by hand (REST API, UI) left", 0, sum(run.external_trigger for run in left)),
            Check(
                "task instances left in them (cleaned by age too)", 0, sum(run.task_instances for run in left)
            ),
        ],
    )


def static_partitions_lost(wb: Workbench) -> None:
    """The airlift sensor records a run's materializations of assets with a StaticPartitionsDefinition without
    a partition, and no error; the same assets with daily partitions get the run's day."""
    run = observed_run(wb)
    day = run.logical_date[:10]
    mapped = {TASKS[0]: RAW_TABLE, TASKS[-1]: CSV_ASSET}  # the two tasks with one asset each
    every_day = {"kind": "daily", "start_date": START_DATE.strftime("%Y-%m-%d")}
    static, daily = observe_with_partitions(wb, run, [{"kind": "static", "keys": [day]}, every_day], mapped)
    prove(
        f"A static partition named {day} stays empty (the run is recorded without a partition)",
        [
            Check(
                "the sensor's tick", "succeeded", f"failed: {static.error}" if static.error else "succeeded"
            ),
            Check("task assets materialized from the run", len(mapped), len(static.partitions)),
            Check("their partition", {"none"}, {key or "none" for key in static.partitions.values()}),
            Check(
                f"partition {day} materialized",
                False,
                any(day in days for days in static.materialized_partitions.values()),
            ),
            Check(
                "their partition with DailyPartitionsDefinition instead",
                {day},
                {key or "none" for key in daily.partitions.values()},
            ),
        ],
    )
