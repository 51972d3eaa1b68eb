"""Plain pipeline steps (load, dbt build, export) shared by the Airflow operators and Dagster assets."""

from __future__ import annotations

import csv
import logging
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

# dbt result statuses that mean a node did not do its job.
_FAILED_STATUSES = {"error", "fail", "runtime error"}


def _quote(identifier: str) -> str:
    """Quote one SQL identifier for DuckDB."""
    return '"' + identifier.replace('"', '""') + '"'


def _quote_table(table: str) -> str:
    """Quote a possibly schema-qualified table name such as ``main.customers``."""
    return ".".join(_quote(part) for part in table.split("."))


def _is_integer_column(name: str) -> bool:
    """Tell whether a column holds an integer key (``id`` or ``*_id``) rather than text."""
    return name == "id" or name.endswith("_id")


def _validate_csv(csv_path: Path, columns: Sequence[str]) -> int:
    """Check a header-less CSV against the expected columns and return its data row count."""
    rows = 0
    with csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        for row in reader:
            line = reader.line_num
            if len(row) != len(columns):
                raise ValueError(
                    f"{csv_path}, line {line}: expected {len(columns)} columns "
                    f"({', '.join(columns)}) but found {len(row)}: {row!r}"
                )
            for name, value in zip(columns, row, strict=True):
                if _is_integer_column(name):
                    try:
                        int(value)
                    except ValueError:
                        raise ValueError(
                            f"{csv_path}, line {line}: column {name!r} must be an integer, got {value!r}"
                        ) from None
            rows += 1
    return rows


def load_csv_to_duckdb(
    csv_path: str | Path,
    duckdb_path: str | Path,
    schema: str,
    table: str,
    columns: Sequence[str],
) -> int:
    """Replace ``schema.table`` with a header-less CSV's rows and return the number of rows loaded.

    Columns named ``id`` or ending in ``_id`` are loaded as BIGINT, all others as VARCHAR.
    The CSV is validated first; a malformed file raises ValueError naming the file, line and problem.
    """
    csv_path = Path(csv_path)
    duckdb_path = Path(duckdb_path)
    if not columns:
        raise ValueError("load_csv_to_duckdb needs at least one column name")
    if not csv_path.is_file():
        raise FileNotFoundError(f"CSV file to load does not exist: {csv_path}")
    expected = _validate_csv(csv_path, columns)

    column_types = ", ".join(
        f"{_quote(name)}: '{'BIGINT' if _is_integer_column(name) else 'VARCHAR'}'" for name in columns
    )
    target = f"{_quote(schema)}.{_quote(table)}"
    duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(duckdb_path)) as con:
        con.execute("begin transaction")
        con.execute(f"create schema if not exists {_quote(schema)}")
        con.execute(
            f"create or replace table {target} as select * from read_csv(?, header = false, "
            f"delim = ',', quote = '\"', auto_detect = false, columns = {{{column_types}}})",
            [str(csv_path)],
        )
        (loaded,) = con.execute(f"select count(*) from {target}").fetchone()
        if loaded != expected:
            con.execute("rollback")
            raise ValueError(f"{csv_path}: validated {expected} rows but DuckDB loaded {loaded}")
        con.execute("commit")
    log.debug("Loaded %d rows from %s into %s.%s (%s)", loaded, csv_path, schema, table, duckdb_path)
    return int(loaded)


def _dbt_args(command: str, project_dir: Path, target_path: Path, log_path: Path) -> list[str]:
    """Build the dbt CLI arguments shared by every command we run."""
    return [
        command,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target-path",
        str(target_path),
        "--log-path",
        str(log_path),
        "--no-use-colors",
        "--no-send-anonymous-usage-stats",
        "--no-version-check",
        "--quiet",
    ]


def _release_dbt_duckdb() -> None:
    """Close the DuckDB database that dbt-duckdb keeps open in this process after an in-process run.

    dbt-duckdb caches one open database per process (DuckDBConnectionManager._ENV) and does not close it
    when dbtRunner.invoke returns, so the file stays locked against every other process
    (duckdb/dbt-duckdb#616). Closing it here lets the next task, in any process, open the file.
    """
    from dbt.adapters.duckdb import DuckDBConnectionManager

    env = getattr(DuckDBConnectionManager, "_ENV", None)
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()


def _invoke_dbt(args: list[str]) -> object:
    """Run dbt in-process and return the command's result, raising RuntimeError on any failure."""
    from dbt.cli.main import dbtRunner  # imported lazily: dbt is slow to import

    try:
        outcome = dbtRunner().invoke(args)
    finally:
        _release_dbt_duckdb()
    if outcome.success:
        return outcome.result
    failures: list[str] = []
    for node_result in getattr(outcome.result, "results", None) or []:
        if str(node_result.status) in _FAILED_STATUSES:
            failures.append(f"{node_result.node.unique_id} [{node_result.status}]: {node_result.message}")
    if outcome.exception is not None:
        failures.append(f"{type(outcome.exception).__name__}: {outcome.exception}")
    detail = "\n  ".join(failures) or "no details reported; see the dbt log"
    raise RuntimeError(f"dbt {args[0]} failed:\n  {detail}")


def run_dbt_build(
    project_dir: str | Path,
    target_path: str | Path,
    log_path: str | Path,
    select: str | None = None,
) -> list[str]:
    """Run ``dbt build`` in-process and return the unique ids of the nodes it ran (seeds, models, tests)."""
    args = _dbt_args("build", Path(project_dir), Path(target_path), Path(log_path))
    if select:
        args += ["--select", select]
    result = _invoke_dbt(args)
    built: list[str] = []
    for node_result in result.results:
        unique_id = node_result.node.unique_id
        log.info("dbt %s: %s (%.2fs)", unique_id, node_result.status, node_result.execution_time)
        if unique_id not in built:
            built.append(unique_id)
    log.info("dbt build finished: %d nodes", len(built))
    return built


def run_dbt_parse(
    project_dir: str | Path,
    target_path: str | Path,
    log_path: str | Path,
    *,
    dbt_executable: str | None = None,
) -> Path:
    """Run ``dbt parse`` and return the path of the manifest.json it wrote: in-process, or as a subprocess of
    `dbt_executable` (a long-lived process then does not keep the ~30 MB a parse leaves behind)."""
    args = _dbt_args("parse", Path(project_dir), Path(target_path), Path(log_path))
    if dbt_executable is None:
        _invoke_dbt(args)
    else:
        done = subprocess.run([dbt_executable, *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            detail = (done.stdout + done.stderr).strip()[-4000:] or "no details reported; see the dbt log"
            raise RuntimeError(f"dbt parse failed:\n  {detail}")
    manifest = Path(target_path) / "manifest.json"
    if not manifest.is_file():
        raise RuntimeError(f"dbt parse succeeded but wrote no manifest at {manifest}")
    return manifest


def export_table_to_csv(duckdb_path: str | Path, table: str, csv_path: str | Path) -> int:
    """Write a DuckDB table to a CSV with a header row, atomically, and return the number of data rows."""
    duckdb_path = Path(duckdb_path)
    csv_path = Path(csv_path)
    if not duckdb_path.is_file():
        raise FileNotFoundError(f"DuckDB file to export from does not exist: {duckdb_path}")
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = csv_path.with_name(f".{csv_path.name}.{os.getpid()}.tmp")
    try:
        with duckdb.connect(str(duckdb_path), read_only=True) as con:
            source = _quote_table(table)
            (rows,) = con.execute(f"select count(*) from {source}").fetchone()
            con.execute(
                f"copy (select * from {source}) to ? (format csv, header true, delimiter ',')",
                [str(tmp_path)],
            )
        os.replace(tmp_path, csv_path)
    finally:
        tmp_path.unlink(missing_ok=True)
    log.debug("Exported %d rows from %s (%s) to %s", rows, table, duckdb_path, csv_path)
    return int(rows)


def count_csv_rows(csv_path: str | Path) -> int:
    """Count the data rows of a CSV that has a header row (blank lines are ignored)."""
    with Path(csv_path).open(newline="", encoding="utf-8") as handle:
        rows = sum(1 for row in csv.reader(handle) if row)
    return max(rows - 1, 0)
