"""Variant, DAG-level: the same executable assets, mapped to the DAG as a whole instead of to its tasks."""

from collections.abc import Iterable, Sequence
from datetime import datetime

from dagster import AssetMaterialization, AssetSpec, Definitions, SensorEvaluationContext, in_process_executor
from dagster_airlift.core import (
    AirflowDefinitionsData,
    assets_with_dag_mappings,
    build_defs_from_airflow_instance,
)
from dagster_dbt import get_asset_key_for_model

from customers_pipeline import paths
from dagster_defs.airflow_instance import airflow_instance
from dagster_defs.assets import export_csv_asset, load_csv_asset
from dagster_defs.dbt import build_dbt_assets, dbt_resource
from dagster_defs.shared import (
    CUSTOMERS_CSV_KEY,
    DAG_ASSET_KEY,
    DAG_ID,
    DAILY_PARTITIONS,
    RAW_CUSTOMERS_KEY,
    SENSOR_INTERVAL_SECONDS,
    validate_exported_csv_check,
)

dbt_models = build_dbt_assets(partitions_def=DAILY_PARTITIONS)


def partition_from_logical_date(
    context: SensorEvaluationContext,
    airflow_data: AirflowDefinitionsData,
    materializations: Sequence[AssetMaterialization],
) -> Iterable[AssetMaterialization]:
    """Put each materialization the sensor observes in the daily partition its run's logical date starts.

    dagster-airlift 0.29's default does this from task metadata, which the materializations of DAG-mapped
    assets do not have: its sensor fails with KeyError 'dagster-airlift/airflow-task-instance-logical-date'.
    """
    for mat in materializations:
        if mat.asset_key == DAG_ASSET_KEY:  # the DAG's own asset has no partitions
            yield mat
            continue
        dag_run = mat.metadata["Run Metadata (raw)"].value  # the run as Airflow's REST API describes it
        logical_date = datetime.fromisoformat(dag_run["logical_date"])
        yield AssetMaterialization(
            asset_key=mat.asset_key,
            description=mat.description,
            metadata=mat.metadata,
            partition=DAILY_PARTITIONS.get_partition_key_for_timestamp(logical_date.timestamp()),
        )


defs = build_defs_from_airflow_instance(
    airflow_instance=airflow_instance,
    defs=Definitions(
        # >>> dag_level: Map the DAG as a whole (DAG_ID) to all its assets with assets_with_dag_mappings:
        # ... the executable loader (load_csv_asset), the dbt assets, and the exporter (export_csv_asset),
        # ... as in migrate.py, but under the DAG instead of under each task.
        assets=assets_with_dag_mappings(
            dag_mappings={
                DAG_ID: [
                    load_csv_asset(
                        AssetSpec(RAW_CUSTOMERS_KEY, partitions_def=DAILY_PARTITIONS),
                        csv_path=paths.raw_customers_csv(),
                        duckdb_path=paths.duckdb_path(),
                        schema="raw_data",
                        table="raw_customers",
                        columns=["id", "first_name", "last_name"],
                    ),
                    dbt_models,
                    export_csv_asset(
                        AssetSpec(
                            CUSTOMERS_CSV_KEY,
                            deps=[get_asset_key_for_model([dbt_models], "customers")],
                            partitions_def=DAILY_PARTITIONS,
                        ),
                        duckdb_path=paths.duckdb_path(),
                        table="customers",
                        csv_path=paths.customers_csv(),
                    ),
                ],
            },
        ),
        # --- starter
        # assets=[],
        # <<<
        asset_checks=[validate_exported_csv_check(CUSTOMERS_CSV_KEY)],
        resources={"dbt": dbt_resource()},
        # A run executes its steps one after the other in the run process: no process per step.
        executor=in_process_executor,
    ),
    sensor_minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    event_transformer_fn=partition_from_logical_date,
)
