"""The tutorial's Airflow DAG: load raw customers into DuckDB, build the dbt project, export customers."""

from pathlib import Path

from airflow import DAG
from dagster_airlift.in_airflow import load_proxied_state_from_yaml, proxying_to_dagster

from customers_pipeline import paths
from customers_pipeline.operators import (
    DbtBuildOperator,
    ExportDuckDBToCSVOperator,
    LoadCSVToDuckDBOperator,
    PatientProxyDAGToDagsterOperator,
    PatientProxyToDagsterOperator,
)
from customers_pipeline.schedule import START_DATE

with DAG(
    dag_id="rebuild_customers_list",
    description="Rebuild the customers list: raw CSV -> DuckDB -> dbt -> customers.csv",
    schedule="@daily",
    start_date=START_DATE,  # a fixed midnight, shared with Dagster's daily partitions
    catchup=False,
    is_paused_upon_creation=False,
    max_active_runs=1,
    # A failing task should fail the run at once: no silent retries in a tutorial.
    default_args={"retries": 0},
    tags=["airlift-tutorial"],
) as dag:
    load_raw_customers = LoadCSVToDuckDBOperator(
        task_id="load_raw_customers",
        csv_path=paths.raw_customers_csv(),
        duckdb_path=paths.duckdb_path(),
        schema="raw_data",
        table="raw_customers",
        columns=["id", "first_name", "last_name"],
    )
    build_dbt_models = DbtBuildOperator(task_id="build_dbt_models", project_dir=paths.DBT_PROJECT_DIR)
    export_customers = ExportDuckDBToCSVOperator(
        task_id="export_customers",
        duckdb_path=paths.duckdb_path(),
        table="customers",
        csv_path=paths.customers_csv(),
    )
    load_raw_customers >> build_dbt_models >> export_customers

# >>> migrate: Last in the file, once the DAG exists: proxying_to_dagster(global_vars=globals(), ...) swaps
# ... the tasks its proxied state marks `proxied: true` (or, with `proxied: true` for the whole DAG, all of
# ... them) for operators that run them in Dagster. Read the state with load_proxied_state_from_yaml from the
# ... proxied_state folder next to this file. Dagster here sits behind a login, which the stock operators
# ... cannot send: build tasks with PatientProxyToDagsterOperator.build_from_task (build_from_task_fn), and
# ... the whole DAG (stage 6) with PatientProxyDAGToDagsterOperator.build_from_dag (build_from_dag_fn).
proxying_to_dagster(
    global_vars=globals(),
    proxied_state=load_proxied_state_from_yaml(Path(__file__).parent / "proxied_state"),
    build_from_task_fn=PatientProxyToDagsterOperator.build_from_task,
    build_from_dag_fn=PatientProxyDAGToDagsterOperator.build_from_dag,
)
# --- starter
# <<<
