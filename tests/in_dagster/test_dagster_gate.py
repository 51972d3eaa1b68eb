"""The login in front of Dagster's webserver (tutorial_lib/in_dagster/gate.py): what it lets through, that
every Dagster webserver of a workspace loads it (tunings off too), and that a Dagster without it is never
used."""

from __future__ import annotations

import asyncio
import base64
import inspect
import subprocess
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest
import requests

from tutorial_lib import services
from tutorial_lib.in_dagster import gate as dagster_gate
from tutorial_lib.in_dagster.gate import Gate, GateError
from tutorial_lib.progress import wait_until
from tutorial_lib.services import environment, lifecycle, processes
from tutorial_lib.workspace import Workspace

KEY = b"k" * 32


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A stand-in for Dagster's app: 200 for HTTP, accept for websockets, note lifespan events."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-app", b"dagster")]})
        await send({"type": "http.response.body", "body": b"inside"})
    elif scope["type"] == "websocket":
        await send({"type": "websocket.accept"})
    else:
        scope["seen"] = True


def _call(gate: Gate, kind: str = "http", headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Pass one request through the gate; return the messages it sent back."""
    scope = {
        "type": kind,
        "path": "/graphql",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"} if kind == "websocket" else {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(gate(scope, receive, send))
    return sent


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _status_and_headers(sent: list[dict[str, Any]]) -> tuple[int, dict[bytes, bytes]]:
    return sent[0]["status"], dict(sent[0]["headers"])


@pytest.fixture
def gate() -> Gate:
    return Gate(_app, user="tutorial", password="s3cret-password", key=KEY, path="/user/a/proxy/absolute/5/")


def test_a_request_without_the_login_gets_401_with_a_basic_challenge_and_never_reaches_dagster(
    gate: Gate,
) -> None:
    status, headers = _status_and_headers(_call(gate))
    assert status == 401
    assert headers[b"www-authenticate"].startswith(b'Basic realm="airlift-tutorial Dagster"')
    assert b"x-app" not in headers


@pytest.mark.parametrize(
    "headers",
    [
        _basic("tutorial", "guess"),
        _basic("someone", "s3cret-password"),
        _basic("tutorial", "s3cret-password" + "x"),
        {"Authorization": "Basic not base64!"},
        {"Authorization": "Bearer s3cret-password"},
        {"Cookie": "airlift_dagster_0=forged"},
    ],
)
def test_wrong_credentials_or_a_forged_cookie_get_401(gate: Gate, headers: dict[str, str]) -> None:
    assert _status_and_headers(_call(gate, headers=headers))[0] == 401


def test_the_login_passes_and_sets_a_private_session_cookie_that_passes_alone(gate: Gate) -> None:
    status, headers = _status_and_headers(_call(gate, headers=_basic("tutorial", "s3cret-password")))
    assert status == 200 and headers[b"x-app"] == b"dagster"
    cookie = headers[b"set-cookie"].decode()
    assert cookie.startswith(f"{gate.cookie_name}={gate.cookie_value};")
    assert "; Path=/user/a/proxy/absolute/5; HttpOnly; SameSite=Strict" in cookie
    pair = cookie.split(";")[0]
    sent = _call(gate, headers={"Cookie": f"other=1; {pair}"})
    assert _status_and_headers(sent)[0] == 200 and b"set-cookie" not in dict(sent[0]["headers"])


def test_the_session_cookie_belongs_to_one_workspace_key_and_password() -> None:
    one = Gate(_app, user="tutorial", password="p" * 16, key=KEY)
    other_key = Gate(_app, user="tutorial", password="p" * 16, key=b"j" * 32)
    other_password = Gate(_app, user="tutorial", password="q" * 16, key=KEY)
    assert one.cookie_name != other_key.cookie_name and one.cookie_value != other_key.cookie_value
    assert one.cookie_value != other_password.cookie_value
    assert one.path == "/"


def test_a_websocket_needs_the_cookie_or_the_login(gate: Gate) -> None:
    refused = _call(gate, "websocket")
    assert refused == [{"type": "websocket.close", "code": 1008}]
    assert _call(gate, "websocket", {"Cookie": f"{gate.cookie_name}={gate.cookie_value}"}) == [
        {"type": "websocket.accept"}
    ]
    assert _call(gate, "websocket", _basic("tutorial", "s3cret-password")) == [{"type": "websocket.accept"}]


def test_lifespan_events_pass_the_gate(gate: Gate) -> None:
    scope: dict[str, Any] = {"type": "lifespan"}
    asyncio.run(gate(scope, None, None))  # type: ignore[arg-type]
    assert scope["seen"]


def test_a_gate_without_the_workspace_login_files_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(GateError, match="airlift-tutorial up"):
        dagster_gate.from_environment(_app, "", {})
    environ = {
        dagster_gate.USER_VAR: "tutorial",
        dagster_gate.PASSWORD_FILE_VAR: str(tmp_path / "missing"),
        dagster_gate.KEY_FILE_VAR: str(tmp_path / "missing"),
    }
    with pytest.raises(GateError):
        dagster_gate.from_environment(_app, "", environ)
    with pytest.raises(GateError, match="16 bytes"):
        Gate(_app, user="tutorial", password="p", key=b"short")


def test_the_hook_point_is_in_the_locked_dagster_webserver() -> None:
    """Canary: dagster-webserver still builds the app it serves where `install` wraps it."""
    from dagster_webserver import cli

    copy = types.ModuleType(cli.__name__)
    copy.__dict__.update(cli.__dict__)
    dagster_gate.install(copy)
    gated = getattr(copy, dagster_gate.HOOK_FUNCTION)
    assert gated.gated and gated is not cli.create_app_from_workspace_process_context
    assert "path_prefix" in inspect.signature(cli.create_app_from_workspace_process_context).parameters
    assert "uvicorn" in cli.host_dagster_ui_with_workspace_process_context.__code__.co_names


def test_a_dagster_webserver_without_the_hook_point_does_not_start() -> None:
    moved = types.ModuleType("dagster_webserver.cli")
    moved.host_dagster_ui_with_workspace_process_context = lambda: None
    with pytest.raises(GateError, match="does not start without it"):
        dagster_gate.install(moved)


def test_every_dagster_webserver_of_a_workspace_loads_the_gate_with_tunings_off_too(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws").ensure()
    env = services.dagster_env(ws) | {"AIRLIFT_TUTORIAL_TUNING": "off"}
    probe = "import dagster_webserver.cli as cli; print(cli.create_app_from_workspace_process_context.gated)"
    found = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert found.stdout.strip() == "True", found.stderr[-2000:]


def test_a_dagster_that_answers_without_the_login_is_stopped_and_never_reported_ready(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws").ensure()
    port = processes.free_port()
    # Answers every request with 200, as a Dagster webserver without the gate does.
    server = textwrap.dedent(
        """
        import sys
        from http.server import BaseHTTPRequestHandler, HTTPServer
        class Open(BaseHTTPRequestHandler):
            def _ok(self):
                self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
                self.wfile.write(b"{}")
            do_GET = do_POST = _ok
        HTTPServer(("127.0.0.1", int(sys.argv[1])), Open).serve_forever()
        """
    )
    argv = [sys.executable, "-c", server, str(port)]
    record = lifecycle._spawned(
        ws,
        "dagster",
        lambda: lifecycle._spawn_service(ws, "dagster", argv, dict(environment._base_env(ws)), port, ""),
    )
    try:
        wait_until(lambda: _answers(record["url"]), what="the open stub", timeout=30, show=False)
        with pytest.raises(services.ServiceError, match="without the workspace's login.*stopped"):
            lifecycle._dagster_ready(ws, record)
        assert services.service_record(ws, "dagster") is None
        assert not processes.is_alive(record["pid"], record["create_time"])
    finally:
        services.stop_service(ws, "dagster")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False
