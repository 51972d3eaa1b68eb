"""The Airflow and Dagster API clients against small stub servers: requests, errors, waits."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tutorial_lib.clients.airflow import AirflowClient, AirflowError, DagRunFailed
from tutorial_lib.clients.dagster import DagsterClient, DagsterError, key_path, key_string, metadata_value
from tutorial_lib.progress import WaitTimeout, wait_until
from tutorial_lib.services.processes import free_port

Handler = Callable[[str, str, dict[str, Any] | None], tuple[int, Any]]


@pytest.fixture
def stub() -> Iterator[Callable[[Handler], str]]:
    """Serve a handler(method, path, json_body) -> (status, body) on 127.0.0.1; yield a starter."""
    servers = []

    def start(handle: Handler) -> str:
        class RequestHandler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                status, payload = handle(self.command, self.path, body)
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header(
                    "Content-Type", "text/plain" if isinstance(payload, str) else "application/json"
                )
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()


def test_airflow_client_says_how_to_start_airflow_when_nothing_answers() -> None:
    client = AirflowClient(f"http://127.0.0.1:{free_port()}", "u", "p", timeout=2)
    with pytest.raises(AirflowError, match="not answering.*airlift-tutorial up"):
        client.list_dags()


def test_airflow_client_reports_api_errors_with_their_detail(stub) -> None:
    url = stub(lambda method, path, body: (404, {"detail": "DAG with dag_id: 'nope' not found"}))
    with pytest.raises(AirflowError, match="404: DAG with dag_id: 'nope' not found"):
        AirflowClient(url, "u", "p").trigger("nope")


def test_airflow_client_names_refused_credentials(stub) -> None:
    url = stub(lambda method, path, body: (401, {"title": "Unauthorized"}))
    with pytest.raises(AirflowError, match="refused the workspace's credentials"):
        AirflowClient(url, "u", "p").list_dags()


def test_a_failed_dag_run_names_the_failed_task_and_its_log(stub) -> None:
    def handle(method: str, path: str, body: Any) -> tuple[int, Any]:
        if path.endswith("/dagRuns") and method == "POST":
            return 200, {"dag_run_id": "r1"}
        if "/logs/" in path:
            return 200, "INFO starting\nERROR IO Error: Could not set lock on file\n"
        if path.endswith("/taskInstances"):
            return 200, {
                "task_instances": [
                    {
                        "task_id": "load_raw_customers",
                        "state": "failed",
                        "try_number": 1,
                        "start_date": "2026-01-01T00:00:01Z",
                    },
                    {"task_id": "build_dbt_models", "state": "upstream_failed", "start_date": None},
                ]
            }
        return 200, {
            "state": "failed",
            "logical_date": "2026-01-01T00:00:00Z",
            "start_date": "2026-01-01T00:00:00Z",
            "end_date": "2026-01-01T00:00:09Z",
        }

    client = AirflowClient(stub(handle), "u", "p")
    run_id = client.trigger("d")
    with pytest.raises(DagRunFailed) as failure:
        client.wait_for_run("d", run_id, timeout=5, show=False)
    message = str(failure.value)
    assert "task load_raw_customers: failed" in message
    assert "Could not set lock on file" in message
    assert "build_dbt_models: upstream_failed" in message
    run = client.wait_for_run("d", run_id, timeout=5, show=False, raise_on_failure=False)
    assert (run.state, run.duration) == ("failed", 9.0)


def test_dagster_client_raises_graphql_errors(stub) -> None:
    url = stub(lambda method, path, body: (200, {"errors": [{"message": "Cannot query field 'x'"}]}))
    with pytest.raises(DagsterError, match="Cannot query field 'x'"):
        DagsterClient(url).asset_keys()


def test_dagster_client_reports_a_code_location_that_failed_to_load(stub) -> None:
    workspace = {
        "workspaceOrError": {
            "__typename": "Workspace",
            "locationEntries": [
                {
                    "name": "airlift_tutorial",
                    "loadStatus": "LOADED",
                    "locationOrLoadError": {
                        "__typename": "PythonError",
                        "message": "ConnectionError: Airflow",
                        "stack": [],
                    },
                }
            ],
        }
    }
    url = stub(lambda method, path, body: (200, {"data": workspace}))
    with pytest.raises(DagsterError, match="failed to load:\nConnectionError: Airflow"):
        DagsterClient(url).location_ready()


def test_a_reload_slower_than_the_request_timeout_waits_for_the_newer_load(stub) -> None:
    loaded = {"at": time.time() - 600.0}

    def handle(method: str, path: str, body: Any) -> tuple[int, Any]:
        if "reloadRepositoryLocation" in body["query"]:
            time.sleep(1.3)  # the webserver answers a reload only once the new code server has loaded
            loaded["at"] = time.time()
            return 200, {"data": {"reloadRepositoryLocation": {"__typename": "WorkspaceLocationEntry"}}}
        entry = {"name": "airlift_tutorial", "loadStatus": "LOADED", "updatedTimestamp": loaded["at"]}
        return 200, {"data": {"workspaceOrError": {"__typename": "Workspace", "locationEntries": [entry]}}}

    client = DagsterClient(stub(handle), timeout=0.5)  # an ordinary request's timeout: shorter than the load
    client.reload_location(timeout=1.0, show=False)  # the mutation's own request times out after 1 s
    assert loaded["at"] > time.time() - 60


def test_a_reload_that_never_lands_times_out_naming_the_location(stub) -> None:
    def handle(method: str, path: str, body: Any) -> tuple[int, Any]:
        if "reloadRepositoryLocation" in body["query"]:
            time.sleep(1.0)
            return 200, {"data": {"reloadRepositoryLocation": {"__typename": "WorkspaceLocationEntry"}}}
        entry = {"name": "airlift_tutorial", "loadStatus": "LOADED", "updatedTimestamp": 1.0}
        return 200, {"data": {"workspaceOrError": {"__typename": "Workspace", "locationEntries": [entry]}}}

    with pytest.raises(WaitTimeout, match="code location airlift_tutorial"):
        DagsterClient(stub(handle), timeout=5).reload_location(timeout=0.5, show=False)


def test_dagster_client_waits_for_materializations_of_every_key(stub) -> None:
    calls = {"n": 0}

    def handle(method: str, path: str, body: Any) -> tuple[int, Any]:
        calls["n"] += 1
        key = body["variables"]["key"]["path"]
        events = (
            []
            if calls["n"] < 3
            else [
                {
                    "runId": "r",
                    "timestamp": "1700000000000",
                    "partition": None,
                    "tags": [],
                    "metadataEntries": [{"label": "rows", "intValue": 7}],
                }
            ]
        )
        return 200, {
            "data": {"assetOrError": {"__typename": "Asset", "assetMaterializations": events}}
        } if key else {}

    found = DagsterClient(stub(handle)).wait_for_materializations(
        ["a/b", ["c"]], after=0, timeout=10, show=False
    )
    assert set(found) == {"a/b", "c"}
    assert found["a/b"].metadata == {"rows": 7}
    assert found["c"].timestamp == 1_700_000_000


def test_asset_keys_convert_between_strings_and_paths() -> None:
    assert key_path("airflow/dag/x") == ("airflow", "dag", "x")
    assert key_string(["raw_data", "raw_customers"]) == "raw_data/raw_customers"
    assert metadata_value({"label": "j", "jsonString": '{"a": 1}'}) == {"a": 1}


def test_wait_until_returns_the_first_truthy_value_and_times_out_with_advice() -> None:
    values = iter([None, 0, "ready"])
    assert wait_until(lambda: next(values), what="x", timeout=5, interval=0.01, show=False) == "ready"
    with pytest.raises(WaitTimeout, match="Gave up waiting for y after 0 s. Try again"):
        wait_until(
            lambda: None, what="y", timeout=0.05, interval=0.01, show=False, on_timeout=lambda: "Try again"
        )


def test_a_check_started_in_the_same_second_a_run_ended_counts_as_after_it() -> None:
    from tutorial_lib.clients.dagster import CheckResult

    # Seen in a soak run: the DAG run ended at 19:17:53.137, the sensor's check started at 19:17:53.5, and
    # Dagster stored that start as 19:17:53.
    result = CheckResult(
        ("a",), "c", "SUCCEEDED", True, "ERROR", {}, "run", timestamp=1000.0, evaluated_at=1005.3
    )
    assert result.started_since(1000.137)
    assert not result.started_since(1001.0)


def test_the_split_dagster_client_module_still_exports_every_name_other_modules_import() -> None:
    import tutorial_lib.clients.dagster as dagster_client
    from tutorial_lib import names

    imported_elsewhere = {
        "DagsterClient",
        "DagsterError",
        "_error_with_causes",
        "Materialization",
        "CheckResult",
        "key_path",
        "key_string",
        "metadata_value",
        "LOCATION_NAME",
    }
    assert {name for name in imported_elsewhere if not hasattr(dagster_client, name)} == set()
    assert imported_elsewhere - {"_error_with_causes"} <= set(dagster_client.__all__)
    assert dagster_client.LOCATION_NAME is names.LOCATION_NAME
