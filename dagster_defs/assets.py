"""Asset factories for the DAG's two Python tasks: same arguments as their operators, same logic functions."""

from collections.abc import Sequence
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    AssetSpec,
    BackfillPolicy,
    MaterializeResult,
    multi_asset,
)

from customers_pipeline import logic


def _op_name(spec: AssetSpec, verb: str) -> str:
    """A valid op name for the asset, e.g. load_raw_data__raw_customers."""
    return f"{verb}_{spec.key.to_python_identifier()}"


def _backfill_policy(spec: AssetSpec) -> BackfillPolicy | None:
    """One run for a whole backfill, like the dbt assets: each run rebuilds everything, whatever the day."""
    return BackfillPolicy.single_run() if spec.partitions_def else None


def load_csv_asset(
    spec: AssetSpec,
    *,
    csv_path: str | Path,
    duckdb_path: str | Path,
    schema: str,
    table: str,
    columns: Sequence[str],
) -> AssetsDefinition | AssetSpec:
    """An executable asset doing what LoadCSVToDuckDBOperator does: replace schema.table with a CSV's rows."""
    # >>> migrate: Make the spec executable: a @multi_asset(specs=[spec], name=_op_name(spec, "load"),
    # ... backfill_policy=_backfill_policy(spec)) whose function does what LoadCSVToDuckDBOperator.execute
    # ... does (logic.load_csv_to_duckdb) and returns a MaterializeResult with the row count. export_csv_asset
    # ... below is the same pattern for the other operator.
    columns = list(columns)

    @multi_asset(specs=[spec], name=_op_name(spec, "load"), backfill_policy=_backfill_policy(spec))
    def _load(context: AssetExecutionContext) -> MaterializeResult:
        if context.has_partition_key:
            context.log.info(f"Loading for partition {context.partition_key}")
        rows = logic.load_csv_to_duckdb(csv_path, duckdb_path, schema, table, columns)
        context.log.info(f"Loaded {rows} rows from {csv_path} into {schema}.{table}")
        return MaterializeResult(
            asset_key=spec.key,
            metadata={"row_count": rows, "source": str(csv_path), "table": f"{schema}.{table}"},
        )

    return _load
    # --- starter
    # return spec  # a spec only: Dagster knows the asset but cannot build it yet
    # <<<


def export_csv_asset(
    spec: AssetSpec,
    *,
    duckdb_path: str | Path,
    table: str,
    csv_path: str | Path,
) -> AssetsDefinition:
    """An executable asset doing what ExportDuckDBToCSVOperator does: write a DuckDB table to a CSV."""

    @multi_asset(specs=[spec], name=_op_name(spec, "export"), backfill_policy=_backfill_policy(spec))
    def _export(context: AssetExecutionContext) -> MaterializeResult:
        if context.has_partition_key:
            context.log.info(f"Exporting for partition {context.partition_key}")
        rows = logic.export_table_to_csv(duckdb_path, table, csv_path)
        context.log.info(f"Exported {rows} rows from {table} to {csv_path}")
        return MaterializeResult(
            asset_key=spec.key,
            metadata={"row_count": rows, "path": str(csv_path), "table": table},
        )

    return _export
