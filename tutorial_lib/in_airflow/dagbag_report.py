"""Load a folder of DAG files with Airflow's own DagBag and write what they hold, as JSON (`assess` runs it).

Runs in a child process that imports Airflow, with a throw-away AIRFLOW_HOME, no bytecode written and the
examples off, so the folder is read and never changed. Prints one JSON document: every DAG with its schedule,
timetable, datasets and tasks (operator, its classes from most to least derived, mapped or not, inlets and
outlets, the command of a Bash task), and every file that failed to import with its error. Airflow logs to
stdout, so the JSON goes to the file named second.
"""

from __future__ import annotations

import json
import sys
from typing import Any

sys.dont_write_bytecode = True  # before any DAG file is imported: no __pycache__ in the learner's folder


def _dataset_uris(items: Any) -> list[str]:
    uris = []
    for item in items or []:
        uri = getattr(item, "uri", None) or getattr(item, "name", None)
        if uri:
            uris.append(str(uri))
    return uris


def _classes(task: Any) -> list[str]:
    """The task's operator classes, most derived first, as module.Class (a mapped task's: its operator's)."""
    operator_class = getattr(task, "operator_class", None) or type(task)
    if isinstance(operator_class, dict):  # a deserialized mapped operator keeps only a dict
        return [f"{operator_class.get('_task_module', '')}.{operator_class.get('_task_type', '')}"]
    return [f"{cls.__module__}.{cls.__qualname__}" for cls in operator_class.__mro__ if cls is not object]


def task_report(task: Any) -> dict[str, Any]:
    """What `assess` needs of one task."""
    from airflow.models.mappedoperator import MappedOperator

    mapped = isinstance(task, MappedOperator)
    command = None
    if not mapped:
        raw = getattr(task, "bash_command", None)
        command = raw if isinstance(raw, str) else None
    return {
        "task_id": task.task_id,
        "operator": getattr(task, "custom_operator_name", None) or task.task_type,
        "classes": _classes(task),
        "mapped": mapped,
        "is_setup": bool(getattr(task, "is_setup", False)),
        "is_teardown": bool(getattr(task, "is_teardown", False)),
        "upstream": sorted(task.upstream_task_ids),
        "inlets": _dataset_uris(getattr(task, "inlets", None)),
        "outlets": _dataset_uris(getattr(task, "outlets", None)),
        "bash_command": command,
    }


def dag_report(dag: Any, folder: str) -> dict[str, Any]:
    """What `assess` needs of one DAG."""
    import os

    timetable = dag.timetable
    condition = getattr(timetable, "dataset_condition", None)  # dataset-scheduled, alone or with a time
    schedule_datasets = [uri for uri, _ in condition.iter_datasets()] if condition is not None else []
    timed = getattr(timetable, "timetable", timetable)  # DatasetOrTimeSchedule wraps the time part
    cron = getattr(timed, "_expression", None)
    delta = getattr(timed, "_delta", None)
    return {
        "dag_id": dag.dag_id,
        "file": os.path.relpath(dag.fileloc, folder),
        "schedule": getattr(timetable, "summary", None),
        "timetable": f"{type(timetable).__module__}.{type(timetable).__qualname__}",
        "time_part": f"{type(timed).__module__}.{type(timed).__qualname__}"
        if timed is not timetable
        else None,
        "cron": str(cron) if cron is not None else None,
        "delta_seconds": delta.total_seconds() if hasattr(delta, "total_seconds") else None,
        "schedule_datasets": sorted(set(schedule_datasets)),
        "tasks": [task_report(task) for task in sorted(dag.tasks, key=lambda t: t.task_id)],
    }


def scaffold_proxied_state(dags: dict[str, Any], into: str) -> None:
    """Upstream's `dagster-airlift proxy scaffold` (every task `proxied: false`), written into `into` instead
    of the DAG folder, which stays unchanged: its two look-ups are pointed at this DagBag and that folder."""
    from pathlib import Path

    from dagster_airlift.in_airflow import scaffolding

    scaffolding.get_airflow_dags_folder = lambda: Path(into)
    scaffolding.get_all_dags = lambda: dags
    scaffolding.scaffold_proxied_state(_Quiet())


class _Quiet:
    def info(self, *args: Any, **kwargs: Any) -> None:
        pass


def report(folder: str, proxied_state_into: str | None = None) -> dict[str, Any]:
    """Every DAG of the folder and every import error, as Airflow's DagBag sees them."""
    from airflow.models.dagbag import DagBag

    bag = DagBag(dag_folder=folder, include_examples=False, read_dags_from_db=False, collect_dags=True)
    import os

    if proxied_state_into:
        scaffold_proxied_state(bag.dags, proxied_state_into)

    return {
        "folder": folder,
        "dags": [dag_report(bag.dags[dag_id], folder) for dag_id in sorted(bag.dags)],
        "import_errors": {
            os.path.relpath(path, folder): error for path, error in sorted(bag.import_errors.items())
        },
        "files_read": len(bag.dagbag_stats),
    }


if __name__ == "__main__":  # FOLDER OUTPUT [PROXIED_STATE_PARENT]: Airflow logs to stdout: JSON to a file
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        json.dump(report(sys.argv[1], sys.argv[3] if len(sys.argv) > 3 else None), out)
