"""Each stage's proofs, run in the notebook kernel: one call per notebook cell, a verdict (see `verdict.py`).

Imported by the stage notebooks as `proofs.<name>`; one module per stage (its `Stage.proofs`), plus exercises.
"""

# Every proof reads the services' real APIs, shows a table of checks and raises `ProofFailed` when behaviour
# differs from what the stage teaches, so papermill and nbval fail. Nothing shown varies from run to run.

from __future__ import annotations

from tutorial_lib.names import (
    CHECK_NAME,
    CSV_ASSET,
    CSV_ROWS,
    DAG_ASSET,
    DBT_ASSETS,
    RAW_TABLE,
    TASK_ASSETS,
    TASKS,
)
from tutorial_lib.notebook.proofs import answers
from tutorial_lib.notebook.proofs.caveats import remember_runs, runs_before_and_after
from tutorial_lib.notebook.proofs.component import component_assets, component_run_observed
from tutorial_lib.notebook.proofs.dag_level import (
    dag_level_operators,
    dag_mapped_assets,
    dag_proxied_run,
    dag_run_observed_whole,
)
from tutorial_lib.notebook.proofs.decommission import (
    airflow_gone,
    dagster_alone,
    daily_schedule,
    job_materialized,
)
from tutorial_lib.notebook.proofs.exercises import (
    exercise_backfilled_day,
    exercise_dag_rolled_back_by_hand,
    exercise_mirrored_run,
    exercise_new_run_observed,
    exercise_origin,
    exercise_proxied_by_hand,
)
from tutorial_lib.notebook.proofs.migrate import (
    dbt_assets_from_the_proxied_run,
    executable_assets,
    executed_in,
    operators_follow_proxied_state,
    proxied_failure,
    task_graph_and_history_kept,
)
from tutorial_lib.notebook.proofs.observe import run_observed_per_task, task_mapped_assets
from tutorial_lib.notebook.proofs.partitions import (
    daily_partitions,
    db_clean_kept,
    misaligned_run_refused,
    partitions_materialized,
    sensor_failing_on,
    sensor_recovered,
    static_partitions_lost,
)
from tutorial_lib.notebook.proofs.peer import (
    csv_check_passed,
    dag_asset_before_any_run,
    dag_asset_materialized,
    dag_run_succeeded,
)

__all__ = [
    # names the proofs check against (from tutorial_lib.names)
    "CHECK_NAME",
    "CSV_ASSET",
    "CSV_ROWS",
    "DAG_ASSET",
    "DBT_ASSETS",
    "RAW_TABLE",
    "TASKS",
    "TASK_ASSETS",
    # peer
    "dag_asset_before_any_run",
    "dag_run_succeeded",
    "dag_asset_materialized",
    "csv_check_passed",
    # observe
    "task_mapped_assets",
    "run_observed_per_task",
    # partitions
    "daily_partitions",
    "partitions_materialized",
    "misaligned_run_refused",
    "sensor_failing_on",
    "sensor_recovered",
    "static_partitions_lost",
    "db_clean_kept",
    # partitions: the Airflow runs before and after `airflow db clean`
    "remember_runs",
    "runs_before_and_after",
    # migrate
    "executable_assets",
    "operators_follow_proxied_state",
    "executed_in",
    "dbt_assets_from_the_proxied_run",
    "task_graph_and_history_kept",
    "proxied_failure",
    # decommission
    "airflow_gone",
    "dagster_alone",
    "job_materialized",
    "daily_schedule",
    # dag_level
    "dag_mapped_assets",
    "dag_run_observed_whole",
    "dag_level_operators",
    "dag_proxied_run",
    # component
    "component_assets",
    "component_run_observed",
    # exercises
    "exercise_new_run_observed",
    "exercise_origin",
    "exercise_backfilled_day",
    "exercise_proxied_by_hand",
    "exercise_dag_rolled_back_by_hand",
    "exercise_mirrored_run",
    # the exercises' answers, called when SOLUTIONS is true
    "answers",
]
