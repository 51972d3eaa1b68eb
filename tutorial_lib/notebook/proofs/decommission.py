"""Stage 5, decommission: Airflow is gone; Dagster alone materializes the assets, on a daily schedule."""

from __future__ import annotations

from tutorial_lib import services
from tutorial_lib.names import CHECK_NAME, CSV_ASSET, CSV_ROWS, PARTITION_TAG, TASK_ASSETS
from tutorial_lib.notebook.verdict import Check, prove
from tutorial_lib.notebook.workbench import Workbench


def airflow_gone(wb: Workbench) -> None:
    """Airflow is stopped; Dagster still runs."""
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
    runs = wb.dagster.runs(tags={PARTITION_TAG: day})
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
