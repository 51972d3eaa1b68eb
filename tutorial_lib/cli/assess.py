"""`airlift-tutorial assess`: which DAGs and tasks can be observed, proxied task by task, or moved whole.

From a folder of DAG files, read by Airflow's own DagBag in a child process (`in_airflow/dagbag_report.py`)
with a throw-away AIRFLOW_HOME, so neither the folder nor the learner's Airflow home is changed; or from a
running Airflow 2 over its REST API, read-only (`clients/airflow_readonly.py`). Then each task gets a recipe
(`recipes.py`). Output: a table for the terminal, or JSON to paste into a migration plan.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tutorial_lib.cli import recipes
from tutorial_lib.errors import LearnerError

CHILD_TIMEOUT = 900


class AssessError(LearnerError):
    """The folder or the Airflow cannot be read; the message says what to do."""


def read_folder(folder: Path, proxied_state_into: Path | None = None) -> dict[str, Any]:
    """`dagbag_report`'s JSON for the folder, from a child process with a throw-away Airflow home (and,
    if asked, upstream's proxied-state scaffold written into `proxied_state_into`/proxied_state)."""
    folder = folder.expanduser().resolve()
    if not folder.exists():
        raise AssessError(f"There is no folder {folder}. Name the folder that holds your DAG files.")
    with tempfile.TemporaryDirectory(prefix="airlift-assess-") as scratch:
        out = Path(scratch) / "report.json"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")},
            "AIRFLOW_HOME": scratch,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{scratch}/airflow.db",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONWARNINGS": "ignore",
        }
        done = subprocess.run(
            [sys.executable, "-m", "tutorial_lib.in_airflow.dagbag_report", str(folder), str(out),
             *([str(proxied_state_into)] if proxied_state_into else [])],
            cwd=scratch, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT,
        )  # fmt: skip
        if done.returncode or not out.exists():
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
            raise AssessError(f"Airflow could not read {folder}:\n{tail}")
        return json.loads(out.read_text())


def plan(report: dict[str, Any], source: str) -> dict[str, Any]:
    """Recipes for every task, partitions for every DAG, causes for every import error, and the counts."""
    dags = [recipes.plan_dag(dag) for dag in report["dags"]]
    errors = [
        {"file": file, "cause": recipes.import_error_cause(error), "error": error}
        for file, error in sorted(report.get("import_errors", {}).items())
    ]
    tasks = [task for dag in dags for task in dag["tasks"]]
    return {
        "source": source,
        "dags": dags,
        "import_errors": errors,
        "dataset_key_collisions": recipes.dataset_key_collisions(dags),
        "counts": {
            "dags": len(dags),
            "tasks": len(tasks),
            "import_errors": len(errors),
            "recipes": dict(Counter(task["recipe"]["key"] for task in tasks).most_common()),
            "task_by_task": sum(dag["how_to_migrate"].startswith("task by task") for dag in dags),
            "whole_dag": sum(dag["how_to_migrate"].startswith("DAG-level") for dag in dags),
            "time_partitions": sum(dag["time_partitions"] for dag in dags),
        },
    }


def assess_folder(folder: Path) -> dict[str, Any]:
    """The plan for a folder of DAG files."""
    started = time.monotonic()
    result = plan(read_folder(folder), str(folder.expanduser().resolve()))
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def assess_airflow(url: str, user: str, password: str) -> dict[str, Any]:
    """The plan for a running Airflow 2, read over its REST API (GET only)."""
    from tutorial_lib.clients.airflow_readonly import AirflowReader, ReadOnlyError

    started = time.monotonic()
    reader = AirflowReader(url, user, password)
    try:
        report = {"dags": reader.dags(), "import_errors": reader.import_errors()}
    except ReadOnlyError as exc:
        raise AssessError(str(exc)) from exc
    result = plan(report, url)
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table(result: dict[str, Any]) -> str:
    """The plan as text: one block per DAG, then the recipes counted, then the import errors."""
    counts = result["counts"]
    lines = [
        f"{result['source']}: {counts['dags']} DAG(s), {counts['tasks']} task(s), "
        f"{counts['import_errors']} file(s) that did not import",
        "",
    ]
    for dag in result["dags"]:
        lines.append(f"{dag['dag_id']}  ({dag['file']})")
        datasets = f"; datasets: {', '.join(dag['schedule_datasets'])}" if dag["schedule_datasets"] else ""
        lines.append(f"  schedule: {dag['schedule']}{datasets}")
        lines.append(f"  time-window partitions: {dag['time_partitions_why']}")
        lines.append(f"  migrate: {dag['how_to_migrate']}")
        for task in dag["tasks"]:
            recipe = task["recipe"]
            flows = []
            if task["inlets"]:
                flows.append("in: " + ", ".join(task["inlets"]))
            if task["outlets"]:
                flows.append("out: " + ", ".join(task["outlets"]))
            lines.append(
                f"    {_cut(task['task_id'], 30):<30} {_cut(task['operator_name'], 28):<28} "
                f"{recipe['key']:<24} alone: {recipe['alone']:<3} {'; '.join(flows)}"
            )
        lines.append("")
    lines.append("Recipes:")
    described = {}
    for dag in result["dags"]:
        for task in dag["tasks"]:
            described.setdefault(task["recipe"]["key"], task["recipe"]["dagster"])
    for key, count in counts["recipes"].items():
        lines.append(f"  {key:<24} {count:>4}  {_cut(described[key], 80)}")
    lines.append(
        f"DAGs: {counts['task_by_task']} task by task, {counts['whole_dag']} DAG-level; "
        f"{counts['time_partitions']} with time-window partitions"
    )
    collisions = result.get("dataset_key_collisions") or {}
    if collisions:
        lines += ["", "Datasets dagster-airlift would load as one asset (its definitions then fail to load):"]
        lines += [f"  {key}: {', '.join(uris)}" for key, uris in collisions.items()]
        lines.append(
            "  Load the DAGs without their datasets (AirflowFilter(retrieve_datasets=False)), as "
            "scaffold does."
        )
    if result["import_errors"]:
        lines += ["", f"Files that did not import ({len(result['import_errors'])}):"]
        lines += [f"  {error['file']}: {error['cause']}" for error in result["import_errors"]]
    return "\n".join(lines)
