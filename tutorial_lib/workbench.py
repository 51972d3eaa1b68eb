"""The notebooks' entry point: one object for a running workspace and the tutorial's stage steps."""

from __future__ import annotations

import filecmp
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from . import proxied_state, services
from .airflow import AirflowClient, DagRun, parse_time
from .dagster import DagsterClient
from .progress import wait_until
from .workspace import REPO_ROOT, Workspace, WorkspaceError

DAG_ID = "rebuild_customers_list"
PROXY_OPERATOR = "DefaultProxyTaskToDagsterOperator"
DEFINITIONS = ("peer", "peer_check", "observe", "partitions", "migrate", "decommission")


@dataclass
class Workbench:
    """A workspace with running Airflow and Dagster, and the steps the stage notebooks take."""

    workspace: Workspace
    airflow: AirflowClient
    dagster: DagsterClient
    show: bool = True

    @property
    def airflow_url(self) -> str:
        """The Airflow UI's address."""
        return self.airflow.url

    @property
    def dagster_url(self) -> str:
        """The Dagster UI's address."""
        return self.dagster.url

    def use_definitions(self, name: str) -> None:
        """Serve the named stage definitions (a module of `dagster_defs`) and reload the code location."""
        if name not in DEFINITIONS:
            raise WorkspaceError(f"Unknown definitions {name!r}; choose one of: {', '.join(DEFINITIONS)}.")
        self.workspace.update_state(definitions=name)
        self.dagster.reload_location(show=self.show)

    def restore_dags(self) -> Path | None:
        """Put the committed DAG files and proxied state back; back up edited ones first and return where."""
        ws = self.workspace
        source = REPO_ROOT / "airflow_dags"
        comparison = filecmp.dircmp(source, ws.dags_dir, ignore=["__pycache__", "data"])
        if ws.dags_dir.exists() and not _differs(comparison):
            return None
        backup = None
        if ws.dags_dir.exists():
            backup = ws.home / "backups" / time.strftime("%Y%m%d-%H%M%S") / "dags"
            shutil.copytree(ws.dags_dir, backup, ignore=shutil.ignore_patterns("__pycache__"))
        ws.install_dags()
        services.reserialize_dags(ws)
        return backup

    def clear_dag_runs(self, dag_id: str = DAG_ID) -> int:
        """Delete every Airflow run of the DAG; return how many there were."""
        if dag_id not in self.airflow.dag_ids():
            return 0
        runs = self.airflow.dag_runs(dag_id)
        for run in runs:
            self.airflow.delete_run(dag_id, run["dag_run_id"])
        return len(runs)

    def clear_outputs(self) -> None:
        """Remove the data the DAG produces (the DuckDB file, the exported CSV)."""
        for path in (self.workspace.duckdb_path, self.workspace.customers_csv):
            path.unlink(missing_ok=True)
            path.with_name(path.name + ".wal").unlink(missing_ok=True)

    def start_stage(self, stage: str, definitions: str | None = None) -> None:
        """Bring the workspace to a stage's start: committed DAGs, no runs, no asset history, no outputs."""
        backup = self.restore_dags()
        if backup:
            print(f"Your edited DAG files were backed up to {backup.relative_to(self.workspace.home)}.")
        services.wait_for_dag_files(self.workspace, self.airflow, show=self.show)
        self.clear_dag_runs()
        self.clear_outputs()
        self.use_definitions(definitions or stage)
        self.dagster.wipe_assets(self.dagster.assets_with_history())
        self.workspace.update_state(stage=stage)

    def proxied(self, dag_id: str = DAG_ID) -> dict[str, bool]:
        """task_id -> whether it is proxied to Dagster, from the workspace's proxied-state file."""
        return proxied_state.read(self.workspace.proxied_state_dir, dag_id)

    def set_proxied(self, changes: dict[str, bool], dag_id: str = DAG_ID) -> dict[str, bool]:
        """Proxy tasks to Dagster (True) or back to Airflow (False); both services see the change at once."""
        known = list(self.airflow.tasks(dag_id))
        states = proxied_state.update(self.workspace.proxied_state_dir, dag_id, changes, known_tasks=known)
        services.reserialize_dags(self.workspace)

        def airflow_agrees() -> bool:
            classes = self.airflow.tasks(dag_id)
            return all((classes[task] == PROXY_OPERATOR) == proxied for task, proxied in states.items())

        wait_until(airflow_agrees, what="Airflow to load the new proxied state", timeout=60, show=self.show)
        self.dagster.reload_location(show=self.show)
        return states

    def run_dag(
        self,
        dag_id: str = DAG_ID,
        *,
        logical_date: datetime | None = None,
        timeout: float = 300,
        raise_on_failure: bool = True,
    ) -> DagRun:
        """Trigger a DAG run, wait for it to end (showing progress), and return it."""
        run_id = self.airflow.trigger(dag_id, logical_date=logical_date)
        return self.airflow.wait_for_run(
            dag_id, run_id, timeout=timeout, show=self.show, raise_on_failure=raise_on_failure
        )

    def latest_run(self, dag_id: str = DAG_ID) -> DagRun:
        """The most recent run of the DAG, with its task instances."""
        runs = self.airflow.dag_runs(dag_id)
        if not runs:
            raise WorkspaceError(f"{dag_id} has not run yet in this stage: run the cell that triggers it.")
        return self.airflow.dag_run(dag_id, runs[-1]["dag_run_id"])

    def links(self) -> object:
        """Markdown links to both UIs, for display in a notebook."""
        from IPython.display import Markdown

        return Markdown(
            f"- Airflow UI: <{self.airflow_url}> (user `{services.AIRFLOW_USER}`, password in "
            f"`secrets/airflow_password` of the workspace)\n- Dagster UI: <{self.dagster_url}>"
        )


def _differs(comparison: filecmp.dircmp) -> bool:
    if comparison.left_only or comparison.right_only or comparison.diff_files or comparison.funny_files:
        return True
    return any(_differs(sub) for sub in comparison.subdirs.values())


def up(home: str | Path | None = None, *, show: bool = True, **ports: int | None) -> Workbench:
    """Start (or reuse) the workspace's services and return the Workbench for them."""
    running = services.up(home, show=show, **ports)
    return Workbench(workspace=running.workspace, airflow=running.airflow, dagster=running.dagster, show=show)


def seconds_between(earlier: str | float, later: str | float) -> float:
    """Seconds from one moment to another, each an Airflow ISO time or a unix timestamp."""

    def as_unix(value: str | float) -> float:
        return parse_time(value).timestamp() if isinstance(value, str) else float(value)

    return as_unix(later) - as_unix(earlier)


def show_definitions(name: str) -> object:
    """The source of a stage's Dagster definitions module, highlighted, for display in a notebook."""
    from IPython.display import Code

    if name not in DEFINITIONS:
        raise WorkspaceError(f"Unknown definitions {name!r}; choose one of: {', '.join(DEFINITIONS)}.")
    return Code(filename=str(REPO_ROOT / "dagster_defs" / f"{name}.py"), language="python")
