"""Speak to the Dagster webserver's GraphQL API: code locations, assets, materializations, checks, runs.

The documents it sends are in `dagster_queries`, the records it returns in `dagster_records`."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import requests

from tutorial_lib.clients.dagster_queries import (
    ASSET_NODES_QUERY,
    ASSETS_WITH_HISTORY_QUERY,
    CANCEL_RUN_MUTATION,
    CHECK_QUERY,
    DELETE_RUN_MUTATION,
    LAUNCH_MUTATION,
    MATERIALIZATIONS_QUERY,
    PARTITION_KEYS_QUERY,
    PARTITION_STATS_QUERY,
    RELOAD_MUTATION,
    RUN_FAILURES_QUERY,
    RUNS_QUERY,
    SCHEDULE_QUERY,
    SENSOR_TICKS_QUERY,
    START_SCHEDULE_MUTATION,
    STOP_SCHEDULE_MUTATION,
    WIPE_ASSETS_MUTATION,
    WORKSPACE_QUERY,
)
from tutorial_lib.clients.dagster_records import (
    AssetKeyPath,
    CheckResult,
    Materialization,
    key_path,
    key_string,
    metadata_value,
)
from tutorial_lib.names import LOCATION_NAME, PARTITION_TAG
from tutorial_lib.progress import wait_until
from tutorial_lib.workspace import REPO_ROOT

# What other modules import from here, including the records and helpers now kept in `dagster_records`.
__all__ = [
    "LOCATION_NAME",
    "AssetKeyPath",
    "CheckResult",
    "DagsterClient",
    "DagsterError",
    "Materialization",
    "key_path",
    "key_string",
    "metadata_value",
]

REPOSITORY_NAME = "__repository__"  # the one repository of a code location built from a Definitions object
FINISHED_RUN_STATES = ("SUCCESS", "FAILURE", "CANCELED")


class DagsterError(RuntimeError):
    """Dagster answered with an error, or did not answer."""


class DagsterClient:
    """A small client for the GraphQL API of one workspace's Dagster webserver, with the workspace's login."""

    def __init__(self, url: str, *, auth: tuple[str, str] | None = None, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.auth = (
            auth  # the workspace's Dagster answers 401 without it (tutorial_lib/in_dagster/gate.py)
        )
        self.timeout = timeout
        # Raises when a service this client's waits depend on has stopped (set by the workbench).
        self.alive: Callable[[], None] | None = None

    def __repr__(self) -> str:
        return f"DagsterClient({self.url!r})"

    @staticmethod
    def _selector(**names: Any) -> dict[str, Any]:
        """A GraphQL selector for something (a job, sensor, schedule) of the tutorial's code location."""
        return {"repositoryName": REPOSITORY_NAME, "repositoryLocationName": LOCATION_NAME, **names}

    def query(
        self, document: str, variables: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        """Run a GraphQL document; return its data or raise DagsterError with the messages."""
        try:
            response = self.session.post(
                f"{self.url}/graphql",
                json={"query": document, "variables": variables or {}},
                timeout=timeout or self.timeout,
            )
        except requests.RequestException as exc:
            raise DagsterError(
                f"Dagster is not answering at {self.url} ({type(exc).__name__}). Start it with "
                "`airlift-tutorial up` (or `tutorial.up()` in a notebook); `airlift-tutorial logs dagster` "
                "shows why it stopped."
            ) from exc
        if response.status_code == 401:
            raise DagsterError(
                f"Dagster at {self.url} refused the request: it wants the workspace's login (user and "
                "password as for Airflow; `services.dagster_client` gives a client that has it)."
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise DagsterError(
                f"Dagster answered {response.status_code} without JSON: {response.text[:300]}"
            ) from exc
        if body.get("errors"):
            raise DagsterError("; ".join(error.get("message", str(error)) for error in body["errors"]))
        return body["data"]

    def locations(self) -> dict[str, dict[str, Any]]:
        """Code location name -> {status, error message or None, updated (unix time of the last load)}."""
        data = self.query(WORKSPACE_QUERY)["workspaceOrError"]
        if data["__typename"] != "Workspace":
            raise DagsterError(f"Dagster could not list its workspace: {data.get('message')}")
        found = {}
        for entry in data["locationEntries"]:
            loaded = entry.get("locationOrLoadError") or {}
            found[entry["name"]] = {
                "status": entry["loadStatus"],
                "error": _error_with_causes(loaded) if loaded.get("__typename") == "PythonError" else None,
                "updated": entry.get("updatedTimestamp") or 0.0,
            }
        return found

    def location_ready(self, name: str = LOCATION_NAME, *, loaded_after: float = 0.0) -> bool:
        """True once the code location has loaded (at or after `loaded_after`); raise if it failed to load."""
        entry = self.locations().get(name)
        if entry is None or entry["status"] != "LOADED" or entry["updated"] < loaded_after:
            return False
        if entry["error"]:
            raise DagsterError(
                f"The Dagster code location {name!r} failed to load:\n{entry['error'].strip()}"
            )
        return True

    def reload_location(self, name: str = LOCATION_NAME, *, timeout: float = 120, show: bool = True) -> None:
        """Reload the code location (re-imports the definitions) and wait until it has loaded.

        The webserver answers only once the new code server has loaded, which on a busy host can take longer
        than `timeout`; the wait then goes on (up to `timeout` more) for a load newer than the request.
        """
        requested = time.time()
        try:
            result = self.query(RELOAD_MUTATION, {"name": name}, timeout=timeout)["reloadRepositoryLocation"]
            if result["__typename"] == "PythonError":
                raise DagsterError(f"Reloading {name!r} failed: {result['message']}")
        except DagsterError as exc:
            if not isinstance(exc.__cause__, requests.Timeout):
                raise
        wait_until(
            lambda: self.location_ready(name, loaded_after=requested - 1),
            what=f"Dagster to load code location {name}",
            timeout=timeout,
            show=show,
            alive=self.alive,
        )

    def asset_nodes(self) -> list[dict[str, Any]]:
        """The loaded definitions' asset nodes (key, group, deps, partitions, checks)."""
        return self.query(ASSET_NODES_QUERY)["assetNodes"]

    def asset_keys(self) -> list[str]:
        """The loaded definitions' asset keys as 'a/b' strings, sorted."""
        return sorted(key_string(node["assetKey"]["path"]) for node in self.asset_nodes())

    def materializations(
        self, key: str | Sequence[str], *, after: float | None = None, limit: int = 100
    ) -> list[Materialization]:
        """Materializations of one asset (newest first), optionally only those after a unix time."""
        variables: dict[str, Any] = {"key": {"path": list(key_path(key))}, "limit": limit}
        if after is not None:
            variables["after"] = str(int(after * 1000))
        data = self.query(MATERIALIZATIONS_QUERY, variables)["assetOrError"]
        if data["__typename"] != "Asset":
            return []
        return [
            Materialization(
                asset_key=key_path(key),
                run_id=event["runId"],
                timestamp=int(event["timestamp"]) / 1000,
                partition=event["partition"],
                tags={tag["key"]: tag["value"] for tag in event["tags"]},
                metadata={entry["label"]: metadata_value(entry) for entry in event["metadataEntries"]},
            )
            for event in data["assetMaterializations"]
        ]

    def wait_for_materializations(
        self,
        keys: Iterable[str | Sequence[str]],
        *,
        after: float,
        timeout: float = 120,
        show: bool = True,
        partitions: Iterable[str] | None = None,
    ) -> dict[str, Materialization]:
        """Wait until every key has a materialization after `after` (for every partition, if given).

        Returns the earliest such materialization per key (per 'key@partition' when partitions are given).
        """
        wanted = [key_string(key) for key in keys]
        parts = list(partitions) if partitions is not None else [None]
        found: dict[str, Materialization] = {}

        def probe() -> dict[str, Materialization] | None:
            for key in wanted:
                for part in parts:
                    label = key if part is None else f"{key}@{part}"
                    if label in found:
                        continue
                    events = [
                        m
                        for m in self.materializations(key, after=after)
                        if part is None or m.partition == part
                    ]
                    if events:
                        found[label] = min(events, key=lambda m: m.timestamp)
            return found if len(found) == len(wanted) * len(parts) else None

        return wait_until(
            probe,
            what="materializations in Dagster",
            timeout=timeout,
            show=show,
            alive=self.alive,
            describe=lambda: f"{len(found)}/{len(wanted) * len(parts)} seen",
            interval=0.5,
        )

    def check_results(self, key: str | Sequence[str], name: str, *, limit: int = 10) -> list[CheckResult]:
        """Executions of one asset check, newest first."""
        variables = {"key": {"path": list(key_path(key))}, "name": name, "limit": limit}
        results = []
        for execution in self.query(CHECK_QUERY, variables)["assetCheckExecutions"]:
            evaluation = execution.get("evaluation") or {}
            results.append(
                CheckResult(
                    asset_key=key_path(key),
                    name=name,
                    status=execution["status"],
                    passed=evaluation.get("success"),
                    severity=evaluation.get("severity"),
                    metadata={e["label"]: metadata_value(e) for e in evaluation.get("metadataEntries", [])},
                    run_id=execution["runId"],
                    timestamp=execution["timestamp"],
                    evaluated_at=evaluation.get("timestamp"),
                )
            )
        return results

    def wait_for_check(
        self, key: str | Sequence[str], name: str, *, after: float, timeout: float = 120, show: bool = True
    ) -> CheckResult:
        """Wait for an execution of the check that started after `after` and has finished."""

        def probe() -> CheckResult | None:
            for result in self.check_results(key, name):
                if result.started_since(after) and result.status not in ("IN_PROGRESS", "PLANNED"):
                    return result
            return None

        return wait_until(probe, what=f"asset check {name}", timeout=timeout, show=show, alive=self.alive)

    def runs(
        self, *, tags: dict[str, str] | None = None, run_ids: list[str] | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Runs (newest first), optionally only those carrying all the given tags, or with the given ids."""
        run_filter: dict[str, Any] = {"runIds": run_ids} if run_ids else {}
        if tags:
            run_filter["tags"] = [{"key": key, "value": value} for key, value in tags.items()]
        data = self.query(RUNS_QUERY, {"filter": run_filter, "limit": limit})["runsOrError"]
        if data["__typename"] != "Runs":
            raise DagsterError(f"Could not list runs: {data.get('message')}")
        for run in data["results"]:
            run["tags"] = {tag["key"]: tag["value"] for tag in run["tags"]}
            run["assetSelection"] = [key_string(key["path"]) for key in run.get("assetSelection") or []]
        return data["results"]

    def activity_since(self, since: float) -> dict[str, int]:
        """Counts from a unix time on: runs, assets materialized, materializations, check results."""
        runs = [run for run in self.runs(limit=1000) if (run.get("creationTime") or 0) >= since]
        keys = self.assets_with_history()
        events = {key: self.materializations(key, after=since, limit=1000) for key in keys}
        checks = [
            result
            for node in self.asset_nodes()
            for check in (node.get("assetChecksOrError") or {}).get("checks", [])
            for result in self.check_results(node["assetKey"]["path"], check["name"], limit=100)
            if result.started_since(since) and result.passed is not None
        ]
        return {
            "dagster_runs": len(runs),
            "assets_materialized": sum(1 for found in events.values() if found),
            "materializations": sum(len(found) for found in events.values()),
            "checks_passed": sum(1 for result in checks if result.passed),
            "checks_failed": sum(1 for result in checks if not result.passed),
        }

    def assets_with_history(self) -> list[str]:
        """Every asset key the instance has recorded events for, including ones no longer defined."""
        data = self.query(ASSETS_WITH_HISTORY_QUERY)
        nodes = data["assetsOrError"].get("nodes", [])
        return sorted(key_string(node["key"]["path"]) for node in nodes)

    def wipe_assets(self, keys: Iterable[str | Sequence[str]]) -> None:
        """Delete the recorded history (materializations, observations) of the given assets."""
        selectors = [{"assetKey": {"path": list(key_path(key))}} for key in keys]
        if not selectors:
            return
        result = self.query(WIPE_ASSETS_MUTATION, {"ranges": selectors})["wipeAssets"]
        if result["__typename"] != "AssetWipeSuccess":
            raise DagsterError(f"Could not wipe asset history: {result.get('message', result['__typename'])}")

    def partition_keys(self, key: str | Sequence[str]) -> list[str]:
        """The partition keys of one asset in the loaded definitions ([] if it is not partitioned)."""
        data = self.query(PARTITION_KEYS_QUERY, {"key": {"path": list(key_path(key))}})["assetNodeOrError"]
        if data["__typename"] != "AssetNode":
            raise DagsterError(f"No asset {key_string(key)!r} in the loaded definitions.")
        return list(data["partitionKeys"])

    def sensor_ticks(self, sensor_name: str, *, limit: int = 10) -> list[dict[str, Any]]:
        """The sensor's latest ticks (newest first): status, time, error message."""
        selector = self._selector(sensorName=sensor_name)
        data = self.query(SENSOR_TICKS_QUERY, {"selector": selector, "limit": limit})["sensorOrError"]
        if data["__typename"] != "Sensor":
            raise DagsterError(f"No sensor {sensor_name!r} in the loaded definitions ({data['__typename']}).")
        ticks = []
        for tick in data["sensorState"]["ticks"]:
            error = tick.pop("error") or {}
            chain = [error.get("message", "")] + [cause["message"] for cause in error.get("causes", [])]
            ticks.append({**tick, "error": "\n".join(m.strip() for m in chain if m.strip()) or None})
        return ticks

    def partition_stats(self) -> dict[str, dict[str, int]]:
        """Asset key -> partition counts (materialized, total, failed) for the partitioned assets."""
        return {
            key_string(node["assetKey"]["path"]): node["partitionStats"]
            for node in self.query(PARTITION_STATS_QUERY)["assetNodes"]
            if node["partitionStats"]
        }

    def run_errors(self, run_id: str) -> list[str]:
        """The step failures of a run, as 'step: error message' lines (empty when nothing failed)."""
        data = self.query(RUN_FAILURES_QUERY, {"runId": run_id})["runOrError"]
        if data["__typename"] != "Run":
            raise DagsterError(f"No Dagster run {run_id} ({data['__typename']}).")
        lines = []
        for event in data["eventConnection"]["events"]:
            if event["__typename"] == "ExecutionStepFailureEvent" and event.get("error"):
                causes = [cause["message"].strip() for cause in event["error"].get("causes", [])]
                message = causes[-1] if causes else event["error"]["message"].strip()
                lines.append(f"{event['stepKey']}: {message}")
        return lines

    def launch_job(
        self, job_name: str, *, partition: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        """Launch a run of a job of the code location (for one partition, if given); return its run id."""
        all_tags = {**(tags or {}), **({PARTITION_TAG: partition} if partition else {})}
        params = {
            "selector": self._selector(jobName=job_name),
            "executionMetadata": {"tags": [{"key": key, "value": value} for key, value in all_tags.items()]},
        }
        result = self.query(LAUNCH_MUTATION, {"params": params})["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise DagsterError(f"Could not launch {job_name}: {result.get('message', result['__typename'])}")
        return result["run"]["runId"]

    def launch_check(self, key: str | Sequence[str], name: str) -> str:
        """Launch a Dagster run of one asset check, as the UI's *Execute* does; return its run id."""
        check = {"assetKey": {"path": list(key_path(key))}, "name": name}
        params = {
            "selector": self._selector(jobName="__ASSET_JOB", assetSelection=[], assetCheckSelection=[check]),
            "mode": "default",
            "executionMetadata": {},
        }
        result = self.query(LAUNCH_MUTATION, {"params": params})["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise DagsterError(
                f"Could not launch the check {name}: {result.get('message', result['__typename'])}"
            )
        return result["run"]["runId"]

    def wait_for_run(self, run_id: str, *, timeout: float = 600, show: bool = True) -> dict[str, Any]:
        """Wait until a Dagster run ends; return it (its status says whether it succeeded)."""

        def probe() -> dict[str, Any] | None:
            (run,) = self.runs(run_ids=[run_id])
            return run if run["status"] in FINISHED_RUN_STATES else None

        return wait_until(
            probe, what=f"Dagster run {run_id[:8]}", timeout=timeout, show=show, alive=self.alive
        )

    def _schedule_data(self, name: str) -> dict[str, Any]:
        """The schedule's answer to SCHEDULE_QUERY; raise DagsterError if the definitions have no such one."""
        data = self.query(SCHEDULE_QUERY, {"selector": self._selector(scheduleName=name)})["scheduleOrError"]
        if data["__typename"] != "Schedule":
            raise DagsterError(f"No schedule {name!r} in the loaded definitions: {data.get('message', '')}")
        return data

    def schedule(self, name: str) -> dict[str, Any]:
        """A schedule's cron, timezone, status and next tick (unix time)."""
        data = self._schedule_data(name)
        ticks = data["futureTicks"]["results"]
        return {
            "name": data["name"],
            "cron": data["cronSchedule"],
            "timezone": data["executionTimezone"],
            "status": data["scheduleState"]["status"],
            "next_tick": ticks[0]["timestamp"] if ticks else None,
        }

    def set_schedule_running(self, name: str, running: bool = True) -> str:
        """Start (or stop) a schedule, as its toggle in the UI does; return its new status."""
        if running:
            document, arguments = START_SCHEDULE_MUTATION, {"selector": self._selector(scheduleName=name)}
        else:
            document, arguments = (
                STOP_SCHEDULE_MUTATION,
                {"id": self._schedule_data(name)["scheduleState"]["id"]},
            )
        result = self.query(document, arguments)["result"]
        if result["__typename"] != "ScheduleStateResult":
            raise DagsterError(f"Could not switch the schedule {name!r}: {result.get('message', result)}")
        return result["scheduleState"]["status"]

    def cancel_unfinished_runs(self) -> list[str]:
        """Mark every run that has not finished as canceled (e.g. one left by a killed service)."""
        canceled = []
        for run in self.runs(limit=100):
            if run["status"] not in FINISHED_RUN_STATES:
                result = self.query(CANCEL_RUN_MUTATION, {"runId": run["runId"]})["terminateRun"]
                if result["__typename"] != "TerminateRunSuccess":
                    problem = result.get("message", result)
                    raise DagsterError(f"Could not cancel run {run['runId']}: {problem}")
                canceled.append(run["runId"])
        return canceled

    def delete_runs(self) -> int:
        """Delete every run (and its events) from the instance, canceling unfinished ones first."""
        self.cancel_unfinished_runs()
        deleted = 0
        while True:
            finished = [r for r in self.runs(limit=100) if r["status"] in FINISHED_RUN_STATES]
            if not finished:
                return deleted
            for run in finished:
                result = self.query(DELETE_RUN_MUTATION, {"runId": run["runId"]})["deleteRun"]
                if result["__typename"] != "DeletePipelineRunSuccess":
                    raise DagsterError(
                        f"Could not delete run {run['runId']}: {result.get('message', result)}"
                    )
                deleted += 1


def _error_with_causes(error: dict[str, Any]) -> str:
    """A Python error's message followed by its causes' (the real reason is usually the last cause), and the
    line of the project's own code where it happened, if a stack shows one."""
    causes = error.get("causes") or []
    messages = [error.get("message") or "", *(cause.get("message") or "" for cause in causes)]
    text = "\nCaused by: ".join(message.strip() for message in messages if message.strip())
    where = _project_frame(
        [*(cause.get("stack") or [] for cause in reversed(causes)), error.get("stack") or []]
    )
    return f"{text}\nWhere: {where}" if where else text


# A path inside a Python installation: the standard library, or an installed package.
_LIBRARY = re.compile(r"/lib/python3\.\d+/")
# A frame of a formatted Python stack: its file, its line, and the code on that line.
_FRAME = re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+)[^\n]*\n\s*(?P<code>[^\n]*)')


def _shown_path(path: Path) -> Path:
    """A project file's path as a learner knows it: from the checkout, or from the workspace's `project/`."""
    if path.is_relative_to(REPO_ROOT):
        return path.relative_to(REPO_ROOT)
    parts = path.parts
    for index in range(len(parts) - 1):
        if parts[index : index + 2] == ("project", "dagster_defs"):
            return Path(*parts[index:])
    return path


def _project_frame(stacks: list[list[str]]) -> str | None:
    """The innermost frame in the project's own files (the checkout's or the workspace's project; not the
    workbench's, nor Python's or an installed package's), as `path, line N: code`, from the first stack that
    has one."""
    for stack in stacks:
        for entry in reversed(stack):
            found = _FRAME.search(entry)
            if not found:
                continue
            path = Path(found["path"])
            if _LIBRARY.search(found["path"]) or path.is_relative_to(REPO_ROOT / "tutorial_lib"):
                continue  # Python's own modules, an installed package's, or the workbench's
            shown = _shown_path(path)
            code = found["code"].strip()
            return f"{shown}, line {found['line']}" + (f": {code}" if code else "")
    return None
