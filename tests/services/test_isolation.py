"""Learners cannot reach each other's services: a second local user of the host, made for the test, tries the
running stage workspace (served under jupyter-server-proxy's paths, as on a JupyterHub) and its secrets.

Every service listens on 127.0.0.1, which every local user reaches, directly or through their own Jupyter
server's `/proxy/absolute/<port>/` (which forwards to any loopback port): the probe connects directly, as that
proxy does. The same probe, run by the learner with the workspace's login, gets in, so the stranger's refusals
come from the services and the file modes, not from a probe that cannot work.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

import tutorial_lib
from tutorial_lib import services
from tutorial_lib.workspace import Workspace

pytestmark = pytest.mark.stage
PYTHON = "/usr/bin/python3"  # the probe needs nothing of the venv: the system Python, as any user has it

# Run by /usr/bin/python3 as the other user (and as the learner, for the control): each attempt's HTTP status,
# or the name of the error that stopped it.
PROBE = r"""
import base64, http.client, json, os, socket, sys, urllib.parse

config = json.loads(sys.argv[1])
auth = {}
if config["login"]:
    auth = {"Authorization": "Basic " + base64.b64encode(":".join(config["login"]).encode()).decode()}


def call(method, url, body=None, **headers):
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        data = json.dumps(body).encode() if body is not None else None
        kind = {"Content-Type": "application/json"} if data else {}
        connection.request(method, parts.path or "/", body=data, headers={**kind, **auth, **headers})
        return connection.getresponse().status
    except OSError as exc:
        return type(exc).__name__
    finally:
        connection.close()


def attempt(action, path):
    try:
        action(path)
        return "ok"
    except OSError as exc:
        return type(exc).__name__


def read(path):
    with open(path, "rb") as handle:
        handle.read()


def connect(path):
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(path)


dagster, airflow, dag = config["dagster"], config["airflow"], config["dag_id"]
websocket = {
    "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(), "Sec-WebSocket-Protocol": "graphql-ws",
}
print(json.dumps({
    "dagster graphql": call("POST", f"{dagster}/graphql", {"query": "{ version }"}),
    "dagster ui": call("GET", f"{dagster}/"),
    "dagster websocket": call("GET", f"{dagster}/graphql", **websocket),
    "airflow dags": call("GET", f"{airflow}/api/v1/dags"),
    "airflow trigger": call("POST", f"{airflow}/api/v1/dags/{dag}/dagRuns", {}),
    "airflow ui": call("GET", f"{airflow}/home"),
    "files": {path: attempt(read, path) for path in config["files"]},
    "folders": {path: attempt(os.listdir, path) for path in config["folders"]},
    "sockets": {path: attempt(connect, path) for path in config["sockets"]},
    "environments": {path: attempt(read, path) for path in config["environments"]},
}))
"""


def _needs(condition: bool, why: str) -> None:
    """Skip (fail under CI=true) unless `condition`: the test needs root to add a user, and the tools."""
    if not condition:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{why}: under CI the isolation test must run.")
        pytest.skip(why)


@pytest.fixture(scope="module")
def stranger() -> Iterator[str]:
    """A throw-away local user with no home, removed afterwards."""
    _needs(os.geteuid() == 0, "Adding a second local user needs root")
    missing = [tool for tool in ("useradd", "userdel", "runuser", PYTHON) if not shutil.which(tool)]
    _needs(not missing, f"Missing {', '.join(missing)} for the second user")
    name = f"airlift-x{secrets.token_hex(4)}"
    subprocess.run(
        ["useradd", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name],
        check=True,
    )
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], check=True)


@pytest.fixture
def learners_folder() -> Iterator[Workspace]:
    """A second workspace as a learner makes one on a hub, in a folder every user may enter (like a home
    folder of mode 0755) with umask 022, holding every secret `up` makes; the stage workspace's own folder
    sits in pytest's private temporary folder, where no other user could look anyway."""
    parent = Path(tempfile.mkdtemp(prefix="airlift-isolation-"))
    old_umask = os.umask(0o022)
    try:
        parent.chmod(0o755)
        ws = Workspace(parent / "airlift-workbench").ensure()
        services.airflow_env(ws, port=1, dagster_url="http://127.0.0.1:2")
        services.dagster_env(ws)
        services.code_server_socket(ws)
        yield ws
    finally:
        os.umask(old_umask)
        shutil.rmtree(parent)


def _probe(config: dict[str, Any], user: str | None = None) -> dict[str, Any]:
    """Run the probe as `user` (else as the learner, this process's user); return what it found."""
    argv = [PYTHON, "-I", "-c", PROBE, json.dumps(config)]
    if user:
        argv = [str(shutil.which("runuser")), "-u", user, "--", *argv]
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    done = subprocess.run(argv, env=env, cwd="/", capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def _code_server_sockets(ws: Workspace) -> list[str]:
    """The Unix sockets of the workspace's Dagster code servers (from their command lines)."""
    found = []
    for pid in services.service_processes(ws, "dagster"):
        argv = psutil.Process(pid).cmdline()
        if "--socket" in argv:
            found.append(argv[argv.index("--socket") + 1])
    return found


def test_a_second_local_user_cannot_use_a_learners_dagster_or_airflow_or_read_their_secrets(
    running: services.Services, stranger: str, learners_folder: Workspace
) -> None:
    ws = running.workspace
    secret_names = sorted(path.name for path in ws.secrets_dir.iterdir())
    assert secret_names == ["airflow_password", "airflow_webserver_secret_key", "dagster_session_key"]
    assert sorted(path.name for path in learners_folder.secrets_dir.iterdir()) == secret_names
    records = ws.read_state()["services"]
    sockets = _code_server_sockets(ws)
    socket_folder = services.code_server_socket(learners_folder).parent
    assert sockets, "no code server socket found"
    secret_files = [str(learners_folder.secrets_dir / name) for name in secret_names]
    # Each service's leader holds the whole environment: Dagster's login and Airflow's secret key among it.
    environments = [f"/proc/{record['pid']}/environ" for record in records.values()]
    config = {
        "dagster": records["dagster"]["url"],
        "airflow": records["airflow"]["url"],
        "dag_id": tutorial_lib.DAG_ID,
        "files": [*secret_files, str(learners_folder.state_file)],
        "folders": [str(learners_folder.secrets_dir), str(socket_folder)],
        "sockets": sockets,
        "environments": environments,
        "login": None,
    }
    assert records["dagster"]["url"].endswith(f"/proxy/absolute/{records['dagster']['port']}")  # as on a hub

    user, password = services.login(ws)
    # The learner triggers a DAG that does not exist: the API answers 404 past the login, and no run starts.
    learner = _probe({**config, "login": [user, password], "dag_id": "no_such_dag"})
    assert learner == {
        "dagster graphql": 200,
        "dagster ui": 200,
        "dagster websocket": 101,
        "airflow dags": 200,
        "airflow trigger": 404,
        "airflow ui": 302,  # the UI's pages take the login form, not Basic credentials
        "files": dict.fromkeys(config["files"], "ok"),
        "folders": dict.fromkeys(config["folders"], "ok"),
        "sockets": dict.fromkeys(sockets, "ok"),
        "environments": dict.fromkeys(environments, "ok"),
    }

    refused = {
        "dagster graphql": 401,
        "dagster ui": 401,
        "dagster websocket": 403,
        "airflow dags": 403,  # Airflow's Public role (anyone without a valid login) may see nothing
        "airflow trigger": 403,
        "airflow ui": 302,  # to the login form
        # A new workspace is the learner's alone (0700), its secrets doubly so, whatever the umask says.
        "files": dict.fromkeys(config["files"], "PermissionError"),
        "folders": dict.fromkeys(config["folders"], "PermissionError"),
        "sockets": dict.fromkeys(sockets, "PermissionError"),
        "environments": dict.fromkeys(environments, "PermissionError"),
    }
    assert _probe(config, stranger) == refused
    guessed = _probe({**config, "login": [user, secrets.token_urlsafe(18)]}, stranger)
    assert guessed == refused  # Airflow treats a wrong password as no login: the Public role again


def test_no_secret_is_on_a_command_line_or_in_a_file_other_users_may_read(running: services.Services) -> None:
    """/proc/<pid>/cmdline is readable by every user (the environment, /proc/<pid>/environ, is not)."""
    ws = running.workspace
    values = {path.name: path.read_text().strip() for path in ws.secrets_dir.iterdir()}
    assert stat.S_IMODE(ws.secrets_dir.stat().st_mode) == 0o700
    for path in ws.secrets_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    airflow_cfg = (
        ws.airflow_home / "airflow.cfg"
    )  # Airflow writes its own keys there (unused: see airflow_env)
    assert stat.S_IMODE(airflow_cfg.stat().st_mode) & 0o077 == 0
    commands = []
    for pid in services.workspace_processes(ws.home):
        try:
            commands.append(" ".join(psutil.Process(pid).cmdline()))
        except psutil.Error:
            pass
    assert len(commands) >= 6
    shown = [name for name, value in values.items() for command in commands if value in command]
    assert shown == []
