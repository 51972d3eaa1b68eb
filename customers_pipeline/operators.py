"""Airflow operators that run the customers pipeline's steps from customers_pipeline.logic."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import requests
from airflow.models.baseoperator import BaseOperator
from dagster_airlift.in_airflow import DefaultProxyDAGToDagsterOperator, DefaultProxyTaskToDagsterOperator

from customers_pipeline import logic, paths


class LoadCSVToDuckDBOperator(BaseOperator):
    """Replace a DuckDB table with the rows of a header-less CSV."""

    template_fields: Sequence[str] = ("csv_path", "duckdb_path", "schema", "table")
    ui_color = "#fff3c4"

    def __init__(
        self,
        *,
        csv_path: str | Path,
        duckdb_path: str | Path,
        schema: str,
        table: str,
        columns: Sequence[str],
        **kwargs: Any,
    ) -> None:
        """Store where to read the CSV from and which table to (re)create."""
        super().__init__(**kwargs)
        self.csv_path = str(csv_path)
        self.duckdb_path = str(duckdb_path)
        self.schema = schema
        self.table = table
        self.columns = list(columns)

    def execute(self, context: Any) -> int:
        """Load the CSV and return the row count (pushed to XCom)."""
        rows = logic.load_csv_to_duckdb(
            self.csv_path, self.duckdb_path, self.schema, self.table, self.columns
        )
        self.log.info("Loaded %d rows from %s into %s.%s", rows, self.csv_path, self.schema, self.table)
        return rows


class DbtBuildOperator(BaseOperator):
    """Run ``dbt build`` in-process for a dbt project, writing artefacts to the tutorial workspace."""

    template_fields: Sequence[str] = ("project_dir", "select")
    ui_color = "#ffd9c9"

    def __init__(self, *, project_dir: str | Path, select: str | None = None, **kwargs: Any) -> None:
        """Store the dbt project folder and an optional node selection."""
        super().__init__(**kwargs)
        self.project_dir = str(project_dir)
        self.select = select

    def execute(self, context: Any) -> list[str]:
        """Build the project and return the unique ids of the nodes dbt ran."""
        target_path = paths.dbt_target_path()
        log_path = paths.dbt_log_path()
        self.log.info("dbt build of %s (target %s, logs %s)", self.project_dir, target_path, log_path)
        built = logic.run_dbt_build(self.project_dir, target_path, log_path, select=self.select)
        self.log.info("dbt built %d nodes: %s", len(built), ", ".join(built))
        return built


class ExportDuckDBToCSVOperator(BaseOperator):
    """Write a DuckDB table to a CSV file with a header row."""

    template_fields: Sequence[str] = ("duckdb_path", "table", "csv_path")
    ui_color = "#d8f0d2"

    def __init__(self, *, duckdb_path: str | Path, table: str, csv_path: str | Path, **kwargs: Any) -> None:
        """Store which table to export and where to write it."""
        super().__init__(**kwargs)
        self.duckdb_path = str(duckdb_path)
        self.table = table
        self.csv_path = str(csv_path)

    def execute(self, context: Any) -> int:
        """Export the table and return the row count (pushed to XCom)."""
        rows = logic.export_table_to_csv(self.duckdb_path, self.table, self.csv_path)
        self.log.info("Exported %d rows from %s to %s", rows, self.table, self.csv_path)
        return rows


class _PatientSession(requests.Session):
    """A requests session that gives every call at least `min_timeout` seconds."""

    def __init__(self, min_timeout: float) -> None:
        super().__init__()
        self.min_timeout = min_timeout

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs["timeout"] = max(kwargs.get("timeout") or 0, self.min_timeout)
        return super().request(method, url, **kwargs)


class _PatientDagsterCalls:
    """What both proxy operators add to dagster-airlift's defaults: Dagster's login, patience, and the Dagster
    run in the log.

    Dagster here sits behind a login (HTTP Basic), as a deployed Dagster would. The session sends the user
    and password Airflow's environment holds in `DAGSTER_USERNAME` and `DAGSTER_PASSWORD`, beside the
    `DAGSTER_URL` the default operators read: the customisation dagster-airlift's reference documents for a
    Dagster behind an auth backend ("Supporting custom authorization": override `get_dagster_session`).
    The defaults give each GraphQL call 3-10 s. On a busy host (a workshop with many learners, or CI running
    two workspaces at once) Dagster can take longer, and the proxied task would fail for no reason.
    """

    def get_dagster_session(self, context: Any) -> requests.Session:
        """A session with Dagster's login whose calls wait up to 60 s for Dagster."""
        session = _PatientSession(min_timeout=60)
        user, password = os.environ.get("DAGSTER_USERNAME"), os.environ.get("DAGSTER_PASSWORD")
        if not (user and password):
            raise RuntimeError(
                "Set DAGSTER_USERNAME and DAGSTER_PASSWORD in Airflow's environment: Dagster's login, which "
                "the proxy operators need to launch runs there (the workbench sets both)."
            )
        session.auth = (user, password)
        return session

    def launch_dagster_run(
        self, context: Any, session: requests.Session, dagster_url: str, execution_params: Mapping[str, Any]
    ) -> str:
        """Launch the Dagster run, and write in the task's log which run it is and where to see it."""
        run_id = super().launch_dagster_run(context, session, dagster_url, execution_params)  # type: ignore[misc]
        self.log.info("Launched Dagster run %s: %s/runs/%s", run_id, dagster_url.rstrip("/"), run_id)  # type: ignore[attr-defined]
        return run_id


class PatientProxyToDagsterOperator(_PatientDagsterCalls, DefaultProxyTaskToDagsterOperator):
    """dagster-airlift's default task proxy operator, with Dagster's login and more patience."""


class PatientProxyDAGToDagsterOperator(_PatientDagsterCalls, DefaultProxyDAGToDagsterOperator):
    """dagster-airlift's default DAG proxy operator (one task for the whole DAG), with login and patience."""

    @classmethod
    def build_from_dag(cls, dag: Any) -> PatientProxyDAGToDagsterOperator:
        """The one task that replaces the DAG's tasks, named as dagster-airlift names it.

        The default's `build_from_dag` always builds the default class, so a subclass builds its own.
        """
        return cls(task_id=f"DAGSTER_OVERRIDE_DAG_{dag.dag_id}", dag=dag)
