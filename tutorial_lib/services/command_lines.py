"""What each service runs: the programs, their command lines, and the configuration files they read."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from tutorial_lib import names, tuning
from tutorial_lib.services.errors import ServiceError
from tutorial_lib.workspace import REPO_ROOT, Workspace

# The venv's programs (`airflow`, `dagster`, its `python`).
BIN = Path(sys.executable).parent
# The code the services load besides their own: Dagster's start-up hooks (through PYTHONPATH, see
# environment.dagster_env) and Airflow's plugins (its plugins folder, see environment.airflow_env).
DAGSTER_STARTUP = Path(__file__).resolve().parent.parent / "in_dagster" / "startup"
AIRFLOW_PLUGINS = Path(__file__).resolve().parent.parent / "in_airflow" / "plugins"
# The module Dagster's code server loads (it imports the stage definitions the workspace selected).
CODE_LOCATION_MODULE = "tutorial_lib.in_dagster.code_location"
# Linux allows 107 bytes for a Unix socket's path.
MAX_SOCKET_PATH = 100
SOCKET_NAME = "grpc.sock"
# Written in DAGSTER_HOME once the instance's storage exists.
INITIALIZED = ".initialized"


def airflow_command() -> list[str]:
    """Airflow's scheduler and web server, in one shell: if either exits, the other is stopped too."""
    airflow = BIN / "airflow"
    if tuning.use("airflow_one_process_webserver"):
        webserver = f'"{sys.executable}" -m tutorial_lib.in_airflow.webserver'
    else:  # stock: Airflow's own web server (gunicorn), after the workspace's user is created
        create_user = f'"{sys.executable}" -m tutorial_lib.in_airflow.webserver --create-user'
        webserver = f'({create_user} && exec "{airflow}" webserver)'
    if (
        tuning.airflow_webserver_forked()
    ):  # the scheduler forks the web server once it is warm (in_airflow/webserver.py)
        script = f'"{airflow}" scheduler --skip-serve-logs & wait -n; kill 0'
    else:
        script = f'"{airflow}" scheduler --skip-serve-logs & {webserver} & wait -n; kill 0'
    return ["bash", "-c", script]


# Linux takes 107 bytes for a Unix socket's path; multiprocessing adds `/pymp-XXXXXXXX/listener-XXXXXXXX`
# to TMPDIR for its fork server's.
SOCKET_PATH_LIMIT = 107
TMP_SOCKET_SUFFIX = len("/pymp-12345678/listener-12345678")


def _short_top(ws: Workspace) -> Path:
    """Where a workspace too deep for sockets keeps them: one folder per workspace and user."""
    digest = hashlib.sha256(str(ws.home).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"airlift-tutorial-{os.getuid()}-{digest}"


def remove_short_private_folder(ws: Workspace) -> None:
    """Remove the workspace's folder in the shared temporary folder, if it has one (once its services are
    stopped, nothing uses it): a workspace keeps nothing outside itself after `down`."""
    top = _short_top(ws)
    if top.is_dir() and not top.is_symlink() and top.stat().st_uid == os.getuid():
        shutil.rmtree(top, ignore_errors=True)


def _short_private_folder(ws: Workspace, name: str) -> Path:
    """A folder only the learner can enter, under the shared temporary folder, for a workspace whose path is
    too long for the Unix sockets the services make in it (a deep home, a test's temporary folder)."""
    top = _short_top(ws)
    for folder in (top, top / name):
        folder.mkdir(mode=0o700, exist_ok=True)
        if folder.stat().st_uid != os.getuid():
            raise ServiceError(
                f"{folder} belongs to another user; remove it, then run `airlift-tutorial up` again."
            )
        os.chmod(folder, 0o700)
    return top / name


def code_server_socket(ws: Workspace) -> Path:
    """The Unix socket Dagster's code server listens on, in a folder only the learner can enter: inside the
    workspace, or in the temporary folder when the workspace's path is too long for a socket's."""
    folder = ws.dagster_home / "code_server"
    if len(str(folder / SOCKET_NAME)) > MAX_SOCKET_PATH:
        return _short_private_folder(ws, "code_server") / SOCKET_NAME
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder / SOCKET_NAME


def services_tmp_dir(ws: Workspace) -> Path:
    """The services' TMPDIR: inside the workspace, unless its path leaves too little room for the sockets that
    multiprocessing makes there (then a private folder in the temporary folder, as for the code server)."""
    if len(str(ws.tmp_dir)) + TMP_SOCKET_SUFFIX > SOCKET_PATH_LIMIT:
        return _short_private_folder(ws, "tmp")
    ws.tmp_dir.mkdir(parents=True, exist_ok=True)
    return ws.tmp_dir


def _write_dagster_config(ws: Workspace, socket_path: Path) -> Path:
    (ws.dagster_home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\n"
        # Runs start at once instead of waiting in a queue for the daemon's next dequeue tick.
        "run_coordinator:\n  module: dagster._core.run_coordinator\n  class: DefaultRunCoordinator\n"
        "sensors:\n  use_threads: true\n  num_workers: 2\n"
        # No definitions here use declarative automation or freshness: their daemons would only poll.
        "auto_materialize:\n  enabled: false\n  use_sensors: false\n"
        "freshness:\n  enabled: false\n"
    )
    workspace_yaml = ws.dagster_home / "workspace.yaml"
    workspace_yaml.write_text(
        "load_from:\n  - grpc_server:\n"
        f"      socket: {socket_path}\n      location_name: {names.LOCATION_NAME}\n"
    )
    return workspace_yaml


def dagster_commands(ws: Workspace, port: int, prefix: str) -> list[list[str]]:
    """Dagster's three processes: the code server, the webserver and the daemon (what `dagster dev` starts,
    without its supervisor and code-server proxy)."""
    socket_path = code_server_socket(ws)
    workspace_yaml = _write_dagster_config(ws, socket_path)
    python = sys.executable
    # With the in-process reload tuning, `dagster api grpc` reloads the definitions itself; stock, the
    # code-server proxy restarts a fresh `dagster api grpc` for each reload.
    # (--lazy-load-user-code: a load error is reported to the webserver instead of ending the server.)
    in_process = tuning.use("dagster_in_process_reload")
    server = ["api", "grpc", "--lazy-load-user-code"] if in_process else ["code-server", "start"]
    code_server = [python, "-m", "dagster", *server, "--socket", str(socket_path), "--log-level", "warning"]
    code_server += ["--location-name", names.LOCATION_NAME, "-m", CODE_LOCATION_MODULE, "-d", str(REPO_ROOT)]
    webserver = [python, "-m", "dagster_webserver", "-h", "127.0.0.1", "-p", str(port)]
    webserver += ["-w", str(workspace_yaml)]
    if prefix:
        webserver += ["--path-prefix", prefix]
    daemon = [python, "-m", "dagster._daemon", "run", "-w", str(workspace_yaml)]
    return [code_server, webserver, daemon]


def companions(commands: list[list[str]]) -> str:
    """The webserver's and the daemon's arguments (after `python -m <module>`), for the code server to run
    them (`tutorial_lib/in_dagster/startup/_companions.py`), as JSON."""
    _, webserver, daemon = commands
    return json.dumps({"webserver": webserver[3:], "daemon": daemon[3:]})


def dagster_command(ws: Workspace, commands: list[list[str]]) -> list[str]:
    """Dagster's three processes (`dagster_commands`) in one shell: if one exits, the others are stopped too.
    A new instance's storage is created first, once, before three processes would race to create it. With
    the companions tuning, the shell starts the code server only, which runs the webserver and the daemon (as
    threads, or forks: `in_dagster/startup/_companions.py`)."""
    socket_path = str(code_server_socket(ws))
    if tuning.dagster_companions_forked():
        commands = commands[:1]
    # The webserver and the daemon connect to the code server once it listens (the readiness check reloads
    # the location if needed).
    started = " & ".join(shlex.join(command) for command in commands)
    script = f"rm -f {shlex.quote(socket_path)}; {started} & wait -n; kill 0"
    if not (ws.dagster_home / INITIALIZED).exists():
        migrate = shlex.join([sys.executable, "-m", "dagster", "instance", "migrate"])
        script = f"{migrate} && touch {shlex.quote(str(ws.dagster_home / INITIALIZED))} && ({script})"
    return ["bash", "-c", script]
