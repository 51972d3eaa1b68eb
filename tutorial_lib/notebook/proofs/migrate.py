"""Stage 4, migrate: tasks proxied through the YAML run in Dagster, launched by Airflow."""

from __future__ import annotations

from tutorial_lib.names import (
    DAG_ID,
    DAG_RUN_ID_TAG_KEY,
    DBT_ASSETS,
    PROXY_OPERATOR,
    TASK_ASSETS,
    TASK_ID_TAG_KEY,
    TASKS,
)
from tutorial_lib.notebook.verdict import Check, prove
from tutorial_lib.notebook.workbench import Workbench


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
        DAG_RUN_ID_TAG_KEY: run.run_id,
        TASK_ID_TAG_KEY: "build_dbt_models",
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
    tags = {DAG_RUN_ID_TAG_KEY: run.run_id, TASK_ID_TAG_KEY: task}
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
