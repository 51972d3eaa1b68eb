"""Read a running Airflow 2's DAGs and tasks over its REST API, and nothing else: for assessing a learner's
real Airflow. Every call is a GET; the session refuses any other method before it leaves the process.
"""

from __future__ import annotations

from typing import Any

import requests

PAGE = 100


class ReadOnlyError(RuntimeError):
    """Airflow refused or failed a read; the message names the URL and what to check."""


class _GetOnly(requests.Session):
    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if method.upper() != "GET":
            raise ReadOnlyError(f"refused to send {method} {url}: this client only reads")
        return super().request(method, url, *args, **kwargs)


class AirflowReader:
    """A read-only view of an Airflow 2 instance (basic auth)."""

    def __init__(self, url: str, username: str, password: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.session = _GetOnly()
        self.session.auth = (username, password)
        self.timeout = timeout

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        """GET one API path."""
        url = f"{self.url}/api/v1{path}"
        try:
            answer = self.session.get(url, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ReadOnlyError(f"Could not reach Airflow at {self.url}: {exc}. Check the URL.") from exc
        if answer.status_code in (401, 403):
            raise ReadOnlyError(
                f"Airflow at {self.url} refused the login ({answer.status_code}). Check the user and the "
                "password, and that the API accepts basic auth (AIRFLOW__API__AUTH_BACKENDS)."
            )
        if not answer.ok:
            raise ReadOnlyError(
                f"Airflow at {self.url} answered {answer.status_code} to {path}: {answer.text[:200]}"
            )
        return answer.json()

    def _pages(self, path: str, key: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            page = self.get(path, limit=PAGE, offset=len(items))
            items += page.get(key, [])
            if not page.get(key) or len(items) >= page.get("total_entries", 0):
                return items

    def dags(self) -> list[dict[str, Any]]:
        """Every DAG, in `dagbag_report`'s shape (REST gives each task's class, not its class chain)."""
        found = []
        for dag in sorted(self._pages("/dags", "dags"), key=lambda d: d["dag_id"]):
            details = self.get(f"/dags/{dag['dag_id']}/details")
            tasks = self.get(f"/dags/{dag['dag_id']}/tasks").get("tasks", [])
            found.append(_dag(dag, details, tasks))
        return found

    def import_errors(self) -> dict[str, str]:
        """File -> error, as Airflow recorded them."""
        return {e["filename"]: e["stack_trace"] for e in self._pages("/importErrors", "import_errors")}


def _dag(dag: dict[str, Any], details: dict[str, Any], tasks: list[dict[str, Any]]) -> dict[str, Any]:
    schedule = details.get("schedule_interval") or {}
    kind = schedule.get("__type")
    datasets = details.get("dataset_expression")
    timetable = {
        "CronExpression": "airflow.timetables.interval.CronDataIntervalTimetable",
        "TimeDelta": "airflow.timetables.interval.DeltaDataIntervalTimetable",
    }.get(kind or "", "airflow.timetables.simple.DatasetTriggeredTimetable" if datasets else "")
    if not timetable:
        summary = (details.get("timetable_summary") or details.get("timetable_description") or "").lower()
        timetable = "airflow.timetables.simple." + (
            "OnceTimetable" if summary == "@once" else "NullTimetable"
        )
    delta = schedule.get("days", 0) * 86400 + schedule.get("seconds", 0) if kind == "TimeDelta" else None
    return {
        "dag_id": dag["dag_id"],
        "file": dag.get("fileloc", ""),
        "schedule": details.get("timetable_summary") or details.get("timetable_description"),
        "timetable": timetable,
        "time_part": None,
        "cron": schedule.get("value") if kind == "CronExpression" else None,
        "delta_seconds": delta,
        "schedule_datasets": _uris(datasets),
        "tasks": [_task(task) for task in sorted(tasks, key=lambda t: t["task_id"])],
    }


def _task(task: dict[str, Any]) -> dict[str, Any]:
    ref = task.get("class_ref") or {}
    name = ref.get("class_name") or task.get("operator_name") or "?"
    return {
        "task_id": task["task_id"],
        "operator": task.get("operator_name") or name,
        "classes": [f"{ref.get('module_path', '')}.{name}".lstrip(".")],
        "mapped": bool(task.get("is_mapped")),
        "is_setup": False,
        "is_teardown": False,
        "upstream": [],
        "inlets": [],
        "outlets": [],
        "bash_command": None,
    }


def _uris(expression: Any) -> list[str]:
    """Dataset URIs in the REST API's dataset expression ({"all": [...]}, {"any": [...]}, or a URI)."""
    if isinstance(expression, str):
        return [expression]
    if isinstance(expression, dict):
        return sorted({uri for value in expression.values() for uri in _uris(value)})
    if isinstance(expression, list):
        return sorted({uri for value in expression for uri in _uris(value)})
    return []
