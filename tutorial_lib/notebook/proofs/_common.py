"""Helpers that proofs of several stages share: who owns each asset, how the YAML proxies the DAG."""

from __future__ import annotations

from tutorial_lib.names import TASKS
from tutorial_lib.notebook import views
from tutorial_lib.notebook.workbench import Workbench


def asset_owners(wb: Workbench) -> dict[str, str | None]:
    """Each asset of the loaded definitions and the Airflow task (or "DAG") that owns it."""
    return {node.key: node.owner for node in views.asset_graph(wb.dagster)}


def dag_flag(flag: bool | None) -> str:
    """How the YAML proxies the DAG, as the proofs show it: task by task, or the DAG's `proxied:`."""
    return "task by task (tasks:)" if flag is None else f"proxied: {str(flag).lower()}"


def task_order(task: str) -> int:
    """A task's place in the DAG, to sort task ids (the override task, not a DAG task, first)."""
    return TASKS.index(task) if task in TASKS else -1
