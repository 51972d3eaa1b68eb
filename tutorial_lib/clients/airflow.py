"""Speak to Airflow 2's stable REST API (basic auth): DAGs, runs, task instances, logs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from tutorial_lib.log_excerpts import DISK_FULL, DISK_FULL_ADVICE, clean
from tutorial_lib.progress import wait_until

TERMINAL_RUN_STATES = {"success", "failed"}


class AirflowError(RuntimeError):
    """Airflow answered with an error, or did not answer."""


class DagRunFailed(AirflowError):
    """A DAG run ended in state failed; the message names the failed tasks and their log tails."""


@dataclass
class DagRun:
    """A finished (or running) DAG run, with its task instances."""

    dag_id: str
    run_id: str
    state: str
    logical_date: str
    start_date: str | None
    end_date: str | None
    tasks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def duration(self) -> float | None:
        """Seconds from the run's start to its end."""
        if not (self.start_date and self.end_date):
            return None
        return (parse_time(self.end_date) - parse_time(self.start_date)).total_seconds()

    @property
    def started_at(self) -> float:
        """The run's start as a unix timestamp (0 if it has not started)."""
        return parse_time(self.start_date).timestamp() if self.start_date else 0.0

    @property
    def ended_at(self) -> float:
        """The run's end as a unix timestamp (0 while it runs)."""
        return parse_time(self.end_date).timestamp() if self.end_date else 0.0

    def task_states(self) -> dict[str, str]:
        """task_id -> state."""
        return {task["task_id"]: task["state"] for task in self.tasks}


def parse_time(value: str) -> datetime:
    """An Airflow ISO timestamp as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def iso(moment: datetime) -> str:
    """An aware datetime in the ISO form Airflow's API accepts."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


class AirflowClient:
    """A small client for Airflow's /api/v1, bound to one webserver and one user."""

    def __init__(self, url: str, username: str, password: str, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.auth = (username, password)
        self.timeout = timeout
        # Raises when a service this client's waits depend on has stopped (set by the workbench).
        self.alive: Callable[[], None] | None = None

    def __repr__(self) -> str:
        return f"AirflowClient({self.url!r})"

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the API; return decoded JSON (or None); raise AirflowError naming the problem."""
        url = f"{self.url}/api/v1/{path.lstrip('/')}"
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise AirflowError(
                f"Airflow is not answering at {self.url} ({type(exc).__name__}). Start it with "
                "`airlift-tutorial up` (or `tutorial.up()` in a notebook); `airlift-tutorial logs airflow` "
                "shows why it stopped."
            ) from exc
        if response.status_code == 401:
            raise AirflowError(
                f"Airflow at {self.url} refused the workspace's credentials (401). The workspace's Airflow "
                "user may have been changed by hand: `airlift-tutorial reset` recreates it."
            )
        if response.status_code >= 400:
            detail = response.text[:500]
            try:
                body = response.json()
                detail = body.get("detail") or body.get("title") or detail
            except ValueError:
                pass
            raise AirflowError(f"Airflow {method} {path} failed with {response.status_code}: {detail}")
        if response.status_code == 204 or not response.content:
            return None
        if "json" not in response.headers.get("Content-Type", "json"):
            return response.text
        return response.json()

    def health(self) -> dict[str, Any]:
        """The /health document (metadatabase and scheduler status); needs no auth."""
        return self.request("GET", "health")

    def list_dags(self) -> list[dict[str, Any]]:
        """Every active DAG Airflow knows (page by page)."""
        dags: list[dict[str, Any]] = []
        while True:
            page = self.request(
                "GET", "dags", params={"limit": 100, "offset": len(dags), "only_active": "true"}
            )
            dags += page["dags"]
            if not page["dags"] or len(dags) >= page.get("total_entries", 0):
                return dags

    def dag_ids(self) -> list[str]:
        """The ids of the active DAGs."""
        return sorted(dag["dag_id"] for dag in self.list_dags())

    def import_errors(self) -> list[dict[str, Any]]:
        """DAG files Airflow could not import, with their tracebacks."""
        return self.request("GET", "importErrors")["import_errors"]

    def import_error(self, filename: str, *, since: float = 0.0) -> dict[str, Any] | None:
        """Airflow's import error for a DAG file (by file name), if one was recorded at or after `since`."""
        for error in self.import_errors():
            if (
                Path(error["filename"]).name == filename
                and parse_time(error["timestamp"]).timestamp() >= since
            ):
                return error
        return None

    def last_parsed(self, dag_id: str) -> float:
        """When Airflow last parsed the DAG's file (unix time; 0 if it never has)."""
        parsed = self.request("GET", f"dags/{dag_id}").get("last_parsed_time")
        return parse_time(parsed).timestamp() if parsed else 0.0

    def request_parse(self, dag_id: str) -> None:
        """Ask Airflow's DAG processor to parse the DAG's file next, whatever its parsing interval."""
        token = self.request("GET", f"dags/{dag_id}")["file_token"]
        self.request("PUT", f"parseDagFile/{token}")

    def tasks(self, dag_id: str) -> dict[str, str]:
        """task_id -> operator class name, as Airflow's serialized DAG has them now."""
        tasks = self.request("GET", f"dags/{dag_id}/tasks")["tasks"]
        return {task["task_id"]: task["class_ref"]["class_name"] for task in tasks}

    def task_graph(self, dag_id: str) -> dict[str, list[str]]:
        """task_id -> the ids of its downstream tasks."""
        tasks = self.request("GET", f"dags/{dag_id}/tasks")["tasks"]
        return {task["task_id"]: sorted(task["downstream_task_ids"]) for task in tasks}

    def trigger(
        self,
        dag_id: str,
        *,
        logical_date: datetime | None = None,
        run_id: str | None = None,
        conf: dict[str, Any] | None = None,
    ) -> str:
        """Start a DAG run (for a logical date if given); return its run id."""
        body: dict[str, Any] = {"conf": conf or {}}
        if logical_date is not None:
            body["logical_date"] = iso(logical_date)
        if run_id is not None:
            body["dag_run_id"] = run_id
        return self.request("POST", f"dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        """All runs of a DAG, oldest first."""
        return self.request(
            "GET", f"dags/{dag_id}/dagRuns", params={"limit": 100, "order_by": "execution_date"}
        )["dag_runs"]

    def dag_run(self, dag_id: str, run_id: str) -> DagRun:
        """One DAG run with its task instances."""
        run = self.request("GET", f"dags/{dag_id}/dagRuns/{run_id}")
        tasks = self.request("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        tasks.sort(key=lambda task: (task.get("start_date") or "9999", task["task_id"]))
        return DagRun(
            dag_id=dag_id,
            run_id=run_id,
            state=run["state"],
            logical_date=run["logical_date"],
            start_date=run.get("start_date"),
            end_date=run.get("end_date"),
            tasks=tasks,
        )

    def delete_run(self, dag_id: str, run_id: str) -> None:
        """Delete a DAG run and its task instances."""
        self.request("DELETE", f"dags/{dag_id}/dagRuns/{run_id}")

    def mark_run_failed(self, dag_id: str, run_id: str) -> None:
        """Set a run's state to failed, as the UI's "Mark failed" does: its running tasks are stopped."""
        self.request("PATCH", f"dags/{dag_id}/dagRuns/{run_id}", json={"state": "failed"})

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        """The log text of one task try."""
        path = f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{max(try_number, 1)}"
        result = self.request("GET", path, headers={"Accept": "text/plain"}, params={"full_content": "true"})
        return result if isinstance(result, str) else str(result)

    def wait_for_run(
        self,
        dag_id: str,
        run_id: str,
        *,
        timeout: float = 300,
        show: bool = True,
        raise_on_failure: bool = True,
    ) -> DagRun:
        """Wait until a DAG run ends; raise DagRunFailed (naming failed tasks and their logs) if it failed."""
        latest: dict[str, DagRun] = {}

        def probe() -> DagRun | None:
            latest["run"] = run = self.dag_run(dag_id, run_id)
            return run if run.state in TERMINAL_RUN_STATES else None

        def describe() -> str:
            run = latest.get("run")
            if not run:
                return "queued"
            running = [task["task_id"] for task in run.tasks if task["state"] in ("running", "queued")]
            return f"running {', '.join(running)}" if running else run.state

        run = wait_until(
            probe,
            what=f"the {dag_id} run",
            timeout=timeout,
            show=show,
            describe=describe,
            interval=0.5,
            alive=self.alive,
        )
        if run.state == "failed" and raise_on_failure:
            raise DagRunFailed(self.failure_report(run))
        return run

    def failure_report(self, run: DagRun) -> str:
        """A message naming each failed task of a run, with the end of its log and where to look."""
        failed = [task for task in run.tasks if task["state"] in ("failed", "upstream_failed")]
        parts = [f"DAG run {run.run_id} of {run.dag_id} failed."]
        for task in failed:
            parts.append(f"- task {task['task_id']}: {task['state']}")
            if task["state"] == "failed":
                try:
                    log = clean(
                        self.task_log(run.dag_id, run.run_id, task["task_id"], task.get("try_number") or 1)
                    )
                    errors = [line for line in log.splitlines() if "ERROR" in line or "Error" in line]
                    shown = (errors or log.splitlines())[-6:]
                    parts.extend(f"    {line.strip()[:300]}" for line in shown)
                except AirflowError:
                    pass
        if any(DISK_FULL.search(line) for line in parts):
            parts.append(DISK_FULL_ADVICE)
        else:
            parts.append(
                "See the task logs in the Airflow UI (Grid view -> the red task -> Logs), fix the cause, "
                "and trigger the DAG again."
            )
        return "\n".join(parts)


def import_error_message(error: dict[str, Any]) -> str:
    """What Airflow said of a DAG file it could not import, and the fix."""
    return (
        f"Airflow could not import {error['filename']}:\n{error['stack_trace'][-1500:]}\n"
        "Fix the DAG file (or `airlift-tutorial reset` to restore it)."
    )
