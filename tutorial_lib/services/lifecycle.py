"""Start, reuse, check and stop one workspace's Airflow and Dagster services."""

from __future__ import annotations

import hashlib
import os
import shlex
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tutorial_lib import env_vars, tuning
from tutorial_lib.clients.airflow import AirflowClient, AirflowError
from tutorial_lib.clients.dagster import LOCATION_NAME, DagsterClient, DagsterError
from tutorial_lib.in_airflow import scheduler_wake as airflow_scheduler_wake
from tutorial_lib.in_dagster import gate as dagster_gate
from tutorial_lib.progress import WaitTimeout, wait_until
from tutorial_lib.services import jupyter_proxy, processes
from tutorial_lib.workspace import REPO_ROOT, Workspace

# The workspace's login, for Airflow and Dagster alike: this user, the password in secrets/airflow_password.
AIRFLOW_USER = "tutorial"
SERVICES = ("airflow", "dagster")
# Seconds between two parses of an unchanged DAG file.
AIRFLOW_PARSE_INTERVAL = 60
BIN = Path(sys.executable).parent
DAGSTER_STARTUP = Path(__file__).resolve().parent.parent / "in_dagster" / "startup"
AIRFLOW_PLUGINS = Path(__file__).resolve().parent.parent / "in_airflow" / "plugins"
WAKE_FILE_VAR = "AIRLIFT_TUTORIAL_WAKE_FILE"  # read by airflow_plugins/ and _dagster_startup/
# The module Dagster's code server loads (it imports the stage definitions the workspace selected).
CODE_LOCATION_MODULE = "tutorial_lib.in_dagster.code_location"
# Linux allows 107 bytes for a Unix socket's path.
MAX_SOCKET_PATH = 100
SOCKET_NAME = "grpc.sock"
# Written in DAGSTER_HOME once the instance's storage exists.
INITIALIZED = ".initialized"


class ServiceError(RuntimeError):
    """A service is not running, died, or failed to start; the message says what to do."""


@dataclass
class Services:
    """Handles on a running workspace: its folder, and clients for both services."""

    workspace: Workspace
    airflow: AirflowClient
    dagster: DagsterClient

    @property
    def airflow_url(self) -> str:
        """The Airflow UI."""
        return self.airflow.url

    @property
    def dagster_url(self) -> str:
        """The Dagster UI."""
        return self.dagster.url

    def links(self) -> dict[str, str]:
        """The addresses a learner's browser opens for each UI (through Jupyter where it proxies them)."""
        return ui_links(self.workspace)


def wake_file(ws: Workspace) -> Path:
    """The file Airflow touches when a DAG run ends, which wakes Dagster's airlift sensor."""
    return ws.airflow_home / "dag_run_ended"


def scheduler_wake_file(ws: Workspace) -> Path:
    """The file Airflow's web server touches after a request that changes something, to wake the scheduler."""
    return ws.airflow_home / "scheduler_wake"


def _base_env(ws: Workspace) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW_", "AIRFLOW__", "DAGSTER_"))
    }
    env.update(
        **{env_vars.HOME: str(ws.home)},
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
        NO_COLOR="1",
    )
    if tuning.use("dagster_quiet_sensor"):
        env[WAKE_FILE_VAR] = str(wake_file(ws))
    return env


def _password_file(ws: Workspace) -> Path:
    """The file holding the workspace's password for Airflow and Dagster (generated at first use)."""
    ws.secret("airflow_password")
    return ws.secrets_dir / "airflow_password"


def login(ws: Workspace) -> tuple[str, str]:
    """The workspace's user and password, which both Airflow and Dagster ask for."""
    return AIRFLOW_USER, ws.secret("airflow_password")


def _login_env(ws: Workspace) -> dict[str, str]:
    """Where a service's own process finds the workspace's login: the user, and the password's file."""
    return {dagster_gate.USER_VAR: AIRFLOW_USER, dagster_gate.PASSWORD_FILE_VAR: str(_password_file(ws))}


def airflow_env(ws: Workspace, *, port: int, dagster_url: str, path_prefix: str = "") -> dict[str, str]:
    """The environment Airflow runs in: everything inside the workspace, tuned for quick feedback."""
    env = _base_env(ws)
    env.update(
        AIRFLOW_HOME=str(ws.airflow_home),
        AIRFLOW__CORE__DAGS_FOLDER=str(ws.dags_dir),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__EXECUTOR=(
            "tutorial_lib.in_airflow.executor.ForkingSequentialExecutor"
            if tuning.use("airflow_forking_executor")
            else "SequentialExecutor"
        ),
        # Used only by the stock `airflow webserver` (see _start_airflow): one gunicorn worker is plenty here.
        AIRFLOW__WEBSERVER__WORKERS="1",
        AIRFLOW__CORE__DEFAULT_TASK_RETRIES="0",
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{ws.airflow_home / 'airflow.db'}",
        AIRFLOW__API__AUTH_BACKENDS="airflow.api.auth.backend.basic_auth",
        AIRFLOW__WEBSERVER__WEB_SERVER_HOST="127.0.0.1",
        AIRFLOW__WEBSERVER__WEB_SERVER_PORT=str(port),
        AIRFLOW__WEBSERVER__BASE_URL=f"http://127.0.0.1:{port}{path_prefix}",
        AIRFLOW__WEBSERVER__SECRET_KEY=ws.secret("airflow_webserver_secret_key"),
        AIRFLOW__WEBSERVER__EXPOSE_CONFIG="False",
        # The workbench triggers every run itself, so the scheduler creates no @daily runs on its own.
        AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False",
        # New and removed DAG files are found within 5 s, changed ones parsed at once (modified-time order);
        # an unchanged file is parsed again after a minute, or when the workbench asks (request_parse).
        AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL="5",
        AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL=str(AIRFLOW_PARSE_INTERVAL),
        AIRFLOW__SCHEDULER__PARSING_PROCESSES="1",
        AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="5",
        AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC="1",
        AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME="1",  # longer when the web server can wake it (below)
        # A parse the workbench asks for right after another one must still store the DAG it found (Airflow
        # skips storing a changed DAG parsed within this many seconds of the last store).
        AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL="0",
        AIRFLOW__CORE__MIN_SERIALIZED_DAG_FETCH_INTERVAL="1",
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(ws.airflow_home / "logs"),
        # Plugins: the listener that tells Dagster's daemon a DAG run ended (dagster_quiet_sensor tuning).
        AIRFLOW__CORE__PLUGINS_FOLDER=str(AIRFLOW_PLUGINS),
        # The proxy operators (customers_pipeline/operators.py) launch runs in Dagster, which wants the login.
        DAGSTER_URL=dagster_url,
        DAGSTER_USERNAME=AIRFLOW_USER,
        DAGSTER_PASSWORD=ws.secret("airflow_password"),
        **_login_env(ws),  # for the web server, which creates the workspace's Airflow user
    )
    woken = tuning.use("airflow_forking_executor") and tuning.use("airflow_one_process_webserver")
    if woken and tuning.use("airflow_scheduler_wake"):
        env[airflow_scheduler_wake.WAKE_FILE_VAR] = str(scheduler_wake_file(ws))
        env["AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME"] = str(airflow_scheduler_wake.QUIET_SECONDS)
    return env


def dagster_env(ws: Workspace) -> dict[str, str]:
    """The environment of Dagster's processes: the login in front of its webserver, the start-up tunings."""
    env = _base_env(ws)
    env.update(DAGSTER_HOME=str(ws.dagster_home), **_login_env(ws))
    # What `dagster dev` tells its processes: they serve a local development instance.
    env["DAGSTER_IS_DEV_CLI"] = "1"
    ws.secret("dagster_session_key")
    env[dagster_gate.KEY_FILE_VAR] = str(ws.secrets_dir / "dagster_session_key")
    # sitecustomize.py there puts the webserver behind the login (always: it is no tuning) and applies the
    # Dagster tunings that tuning.use allows, in every Dagster process.
    env["PYTHONPATH"] = str(DAGSTER_STARTUP)
    if tuning.use("dagster_fork_server_runs"):
        # Runs forked from the fork server must not restart gRPC's threads (they never use gRPC).
        env["GRPC_ENABLE_FORK_SUPPORT"] = "false"
    return env


def code_server_socket(ws: Workspace) -> Path:
    """The Unix socket Dagster's code server listens on, in a folder only the learner can enter: inside the
    workspace, or in the temporary folder when the workspace's path is too long for a socket's."""
    folder = ws.dagster_home / "code_server"
    if len(str(folder / SOCKET_NAME)) > MAX_SOCKET_PATH:
        digest = hashlib.sha256(str(ws.home).encode()).hexdigest()[:12]
        folder = Path(tempfile.gettempdir()) / f"airlift-tutorial-{os.getuid()}-{digest}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_uid != os.getuid():
        raise ServiceError(
            f"{folder} belongs to another user; remove it, then run `airlift-tutorial up` again."
        )
    os.chmod(folder, 0o700)
    return folder / SOCKET_NAME


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
        f"load_from:\n  - grpc_server:\n      socket: {socket_path}\n      location_name: {LOCATION_NAME}\n"
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
    code_server += ["--location-name", LOCATION_NAME, "-m", CODE_LOCATION_MODULE, "-d", str(REPO_ROOT)]
    webserver = [python, "-m", "dagster_webserver", "-h", "127.0.0.1", "-p", str(port)]
    webserver += ["-w", str(workspace_yaml)]
    if prefix:
        webserver += ["--path-prefix", prefix]
    daemon = [python, "-m", "dagster._daemon", "run", "-w", str(workspace_yaml)]
    return [code_server, webserver, daemon]


def service_record(ws: Workspace, name: str) -> dict[str, Any] | None:
    """What the state file keeps of a service (pid, port, URL, path prefix), or None if it never started."""
    return ws.read_state().get("services", {}).get(name)


def _save_record(ws: Workspace, name: str, record: dict[str, Any] | None) -> None:
    def change(state: dict[str, Any]) -> None:
        services = state.setdefault("services", {})
        if record is None:
            services.pop(name, None)
        else:
            services[name] = record

    ws.modify_state(change)


def _alive(record: dict[str, Any] | None) -> bool:
    return bool(record) and processes.is_alive(record["pid"], record["create_time"])


def _owner(ws: Workspace, service: str) -> str:
    return f"{ws.home}::{service}"


def airflow_client(ws: Workspace, record: dict[str, Any] | None = None) -> AirflowClient:
    """A client for the workspace's Airflow, with the workspace's own credentials."""
    record = record or service_record(ws, "airflow")
    if not record:
        raise ServiceError(
            "Airflow is not running in this workspace. Start it with `airlift-tutorial up` "
            "(or `tutorial.up()` in a notebook)."
        )
    return AirflowClient(record["url"], *login(ws))


def dagster_client(
    ws: Workspace, record: dict[str, Any] | None = None, *, timeout: float = 60.0
) -> DagsterClient:
    """A client for the workspace's Dagster, with the workspace's login."""
    record = record or service_record(ws, "dagster")
    if not record:
        raise ServiceError(
            "Dagster is not running in this workspace. Start it with `airlift-tutorial up` "
            "(or `tutorial.up()` in a notebook)."
        )
    return DagsterClient(record["url"], auth=login(ws), timeout=timeout)


def _prepare_airflow(ws: Workspace, env: dict[str, str]) -> None:
    """Create Airflow's database, once per workspace (the web server adds the workspace's user)."""
    if ws.read_state().get("airflow_initialized"):
        return
    processes.run_checked(
        [str(BIN / "airflow"), "db", "migrate"],
        env=env,
        cwd=ws.home,
        what="airflow db migrate",
        log_file=ws.log_file("airflow-setup"),
    )
    ws.update_state(airflow_initialized=True)


def _start_airflow(ws: Workspace, port: int, dagster_url: str, prefix: str) -> dict[str, Any]:
    env = airflow_env(ws, port=port, dagster_url=dagster_url, path_prefix=prefix)
    airflow = BIN / "airflow"
    # One session holds scheduler and web server; if either exits, the other is stopped too.
    if tuning.use("airflow_one_process_webserver"):
        webserver = f'"{sys.executable}" -m tutorial_lib.in_airflow.webserver'
    else:  # stock: Airflow's own web server (gunicorn), after the workspace's user is created
        create_user = f'"{sys.executable}" -m tutorial_lib.in_airflow.webserver --create-user'
        webserver = f'({create_user} && exec "{airflow}" webserver)'
    script = f'"{airflow}" scheduler --skip-serve-logs & {webserver} & wait -n; kill 0'
    argv = ["bash", "-c", script]
    return _spawn_service(ws, "airflow", argv, env, port, prefix, dagster_url=dagster_url)


def _start_dagster(ws: Workspace, port: int, prefix: str) -> dict[str, Any]:
    commands = dagster_commands(ws, port, prefix)
    socket_path = str(code_server_socket(ws))
    # One session holds all three; if one exits, the others are stopped too. The webserver and the daemon
    # connect to the code server once it listens (the readiness check reloads the location if needed).
    started = " & ".join(shlex.join(command) for command in commands)
    script = f"rm -f {shlex.quote(socket_path)}; {started} & wait -n; kill 0"
    if not (ws.dagster_home / INITIALIZED).exists():
        # A new instance's storage is created once, before three processes would race to create it.
        migrate = shlex.join([sys.executable, "-m", "dagster", "instance", "migrate"])
        script = f"{migrate} && touch {shlex.quote(str(ws.dagster_home / INITIALIZED))} && ({script})"
    env = dagster_env(ws)
    return _spawn_service(ws, "dagster", ["bash", "-c", script], env, port, prefix, socket=socket_path)


def _spawn_service(
    ws: Workspace, name: str, argv: list[str], env: dict[str, str], port: int, prefix: str, **extra: Any
) -> dict[str, Any]:
    """Start a service in a session of its own and return the record the state file keeps of it."""
    proc = processes.spawn(argv, env=env, log_file=ws.log_file(name), cwd=ws.home, owner=_owner(ws, name))
    return {
        "pid": proc.pid,
        "pgid": os.getpgid(proc.pid),
        "create_time": proc.create_time(),
        "port": port,
        "path_prefix": prefix,
        "url": f"http://127.0.0.1:{port}{prefix}",
        "started_at": time.time(),
        "login": True,  # started behind the workspace's login; `up` restarts services from before it
        **extra,
    }


def _died(ws: Workspace, name: str, record: dict[str, Any]) -> ServiceError:
    return ServiceError(
        f"{name.capitalize()} stopped while starting. Last lines of {ws.log_file(name)}:\n"
        f"{processes.tail(ws.log_file(name))}\n"
        f"Fix the cause shown above, then run `airlift-tutorial up` again."
    )


def _airflow_ready(ws: Workspace, record: dict[str, Any]) -> bool:
    if not _alive(record):
        raise _died(ws, "airflow", record)
    try:
        health = requests.get(f"{record['url']}/api/v1/health", timeout=5).json()
    except (requests.RequestException, ValueError):
        return False
    if health.get("scheduler", {}).get("status") != "healthy":
        return False
    airflow_client(ws, record).list_dags()
    return True


def _refuses_strangers(url: str) -> bool | None:
    """Whether Dagster refuses a GraphQL request that has no login (401), or None if it does not answer."""
    try:
        response = requests.post(f"{url}/graphql", json={"query": "{ version }"}, timeout=5)
    except requests.RequestException:
        return None
    return response.status_code == 401 and response.headers.get("WWW-Authenticate", "").startswith("Basic")


def _listening_since(path: str) -> float | None:
    """When the code server's Unix socket was bound (its file's time), or None while nothing listens on it."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(2)
            probe.connect(path)
        return os.stat(path).st_mtime
    except OSError:
        return None


def _dagster_ready(ws: Workspace, record: dict[str, Any], *, loaded_after: float = 0.0) -> bool:
    """Dagster answers only with the login, its code server listens, and its code location has loaded
    (after `loaded_after` and after the code server started listening, reloading if needed). A Dagster that
    answers without the login is never reported ready."""
    if not _alive(record):
        raise _died(ws, "dagster", record)
    refuses = _refuses_strangers(record["url"])
    if refuses is None:
        return False
    if not refuses:
        stop_service(ws, "dagster")
        raise ServiceError(
            f"Dagster at {record['url']} answered a request without the workspace's login, so any local "
            "user could use it; it is stopped. Its webserver must load tutorial_lib/in_dagster/startup "
            "(PYTHONPATH), whose gate is tutorial_lib/in_dagster/gate.py: "
            f"see {ws.log_file('dagster')}, then "
            "`airlift-tutorial up`."
        )
    listening = _listening_since(record["socket"]) if record.get("socket") else 0.0
    if listening is None:
        return False
    try:
        client = dagster_client(ws, record)
        if client.session.get(f"{client.url}/server_info", timeout=5).status_code != 200:
            return False
        entry = client.locations().get(LOCATION_NAME)
        if entry is None or entry["status"] != "LOADED":
            return False
        if entry["updated"] < max(loaded_after, listening):
            # Loaded before Airflow had the DAGs, or before the code server listened: load it again now.
            client.reload_location(show=False)
        return client.location_ready()
    except (requests.RequestException, DagsterError) as exc:
        if isinstance(exc, DagsterError) and "failed to load" in str(exc):
            raise
        return False


def _spawned(ws: Workspace, name: str, start: Any) -> dict[str, Any]:
    """Start a service and record it at once, so that `down` can stop it whatever happens next."""
    record = start()
    _save_record(ws, name, record)
    return record


def _wait_ready(ws: Workspace, name: str, record: dict, ready: Any, timeout: float, show: bool) -> dict:
    """Wait until a just-started service is ready; stop it and raise a ServiceError if it is not."""
    try:
        wait_until(
            lambda: ready(ws, record),
            what=f"{name.capitalize()} to start",
            timeout=timeout,
            show=show,
            interval=0.5,
        )
    except WaitTimeout as exc:
        stop_service(ws, name)
        raise ServiceError(
            f"{exc}\nLast lines of {ws.log_file(name)}:\n{processes.tail(ws.log_file(name))}\n"
            "The machine may be busy: run `airlift-tutorial up` again."
        ) from exc
    except Exception:
        stop_service(ws, name)
        raise
    record["ready_at"] = time.time()
    record["ready_after"] = round(record["ready_at"] - record["started_at"], 1)
    _save_record(ws, name, record)
    return record


def up(
    home: Workspace | str | Path | None = None,
    *,
    airflow_port: int | None = None,
    dagster_port: int | None = None,
    show: bool = True,
    timeout: float = 180,
) -> Services:
    """Start Airflow and Dagster for a workspace, or reuse them if they already run healthy there.

    Both start at the same time; Dagster's code location, which reads Airflow's DAGs, is loaded again
    if it loaded before Airflow was ready.
    """
    ws = Workspace.of(home)
    ws.ensure()
    proxy_base = jupyter_proxy.server_base()
    airflow_rec, dagster_rec = service_record(ws, "airflow"), service_record(ws, "dagster")
    for name, rec, wanted in (("airflow", airflow_rec, airflow_port), ("dagster", dagster_rec, dagster_port)):
        if rec and not _alive(rec):
            stop_service(ws, name)  # stale entry: whatever is left of it goes, then it starts anew
        elif rec and not rec.get("login"):
            stop_service(ws, name)  # started by a workbench from before the login: it starts anew behind it
        elif rec and wanted is not None and rec["port"] != wanted:
            stop_service(ws, name)
    airflow_rec, dagster_rec = service_record(ws, "airflow"), service_record(ws, "dagster")

    if dagster_rec:
        dagster_port, dagster_prefix = dagster_rec["port"], dagster_rec.get("path_prefix", "")
    else:
        dagster_port = processes.choose_port(dagster_port, "Dagster")
        dagster_prefix = jupyter_proxy.path_prefix(proxy_base, dagster_port)
    dagster_url = f"http://127.0.0.1:{dagster_port}{dagster_prefix}"
    if airflow_rec and airflow_rec.get("dagster_url") != dagster_url:
        stop_service(ws, "airflow")
        airflow_rec = None
    start_airflow, start_dagster = not airflow_rec, not dagster_rec
    if start_airflow:
        port = processes.choose_port(airflow_port, "Airflow", avoid=[dagster_port])
        prefix = jupyter_proxy.path_prefix(proxy_base, port)
        _prepare_airflow(ws, airflow_env(ws, port=port, dagster_url=dagster_url, path_prefix=prefix))
        airflow_rec = _spawned(ws, "airflow", lambda: _start_airflow(ws, port, dagster_url, prefix))
    if start_dagster:
        dagster_rec = _spawned(ws, "dagster", lambda: _start_dagster(ws, dagster_port, dagster_prefix))
    try:
        if start_airflow:
            _wait_ready(ws, "airflow", airflow_rec, _airflow_ready, timeout, show)
        else:
            _airflow_ready(ws, airflow_rec)
        client = airflow_client(ws, airflow_rec)
        wait_for_dag_files(ws, client, show=show)
        airflow_rec["dags_ready"] = True  # Dagster's code location waits for this (`airflow_when_ready`)
        _save_record(ws, "airflow", airflow_rec)
    except Exception:
        if start_dagster:
            stop_service(ws, "dagster")
        raise
    airflow_ready_at = time.time() if start_airflow else 0.0

    def dagster_ready(ws: Workspace, record: dict[str, Any]) -> bool:
        return _dagster_ready(ws, record, loaded_after=airflow_ready_at)

    if start_dagster:
        dagster_rec = _wait_ready(ws, "dagster", dagster_rec, dagster_ready, timeout, show)
        # Dagster's UI greets every new instance with a "Join the Dagster community" dialog over each page;
        # the instance records it as seen, the same as the dialog's own dismiss button does.
        dagster_client(ws, dagster_rec).query("mutation { setNuxSeen }")
    elif not dagster_ready(ws, dagster_rec):
        raise ServiceError(
            f"Dagster runs at {dagster_rec['url']} but does not answer. Run "
            "`airlift-tutorial down` and then `airlift-tutorial up`."
        )
    return Services(workspace=ws, airflow=client, dagster=dagster_client(ws, dagster_rec))


def airflow_when_ready(home: Workspace | str | Path | None = None, *, timeout: float = 180) -> dict[str, Any]:
    """The workspace's Airflow record, once Airflow has parsed the DAG files.

    Dagster starts together with Airflow; its code location reads Airflow's DAGs, so it waits here.
    """
    ws = Workspace.of(home)
    deadline = time.monotonic() + timeout
    while True:
        record = service_record(ws, "airflow")
        if not record:
            raise ServiceError("Airflow is not running in this workspace: run `airlift-tutorial up` first.")
        if record.get("dags_ready"):
            return record
        if not _alive(record):
            raise ServiceError("Airflow stopped while starting: `airlift-tutorial logs airflow` shows why.")
        if time.monotonic() > deadline:
            raise ServiceError(
                f"Airflow did not finish starting within {timeout:.0f} s. Run `airlift-tutorial up` again."
            )
        time.sleep(0.5)


def wait_for_dag_files(
    ws: Workspace, client: AirflowClient, *, show: bool = True, timeout: float = 90
) -> None:
    """Wait until Airflow lists a DAG for every DAG file in the workspace; raise on import errors."""
    expected = {path.stem for path in ws.dags_dir.glob("*.py") if not path.name.startswith("_")}

    def probe() -> bool:
        errors = client.import_errors()
        if errors:
            first = errors[0]
            raise AirflowError(
                f"Airflow could not import {first['filename']}:\n{first['stack_trace'][-1500:]}\n"
                "Fix the DAG file (or `airlift-tutorial reset` to restore it)."
            )
        return expected <= set(client.dag_ids())

    wait_until(probe, what="Airflow to parse the DAG files", timeout=timeout, show=show)


def connect(home: Workspace | str | Path | None = None) -> Services:
    """Handles on a workspace whose services already run; a clear error if one is down."""
    ws = Workspace.of(home)
    for name in SERVICES:
        rec = service_record(ws, name)
        if not _alive(rec):
            what = "is not running" if not rec else "has stopped (its process is gone)"
            raise ServiceError(
                f"{name.capitalize()} {what} in the workspace {ws.home}. Run `airlift-tutorial up` "
                f"(or `tutorial.up()` in a notebook) to start it; `airlift-tutorial logs {name}` "
                "shows its log."
            )
    return Services(workspace=ws, airflow=airflow_client(ws), dagster=dagster_client(ws))


def stop_service(ws: Workspace, name: str, *, grace: float = 10.0) -> int:
    """Stop one service's whole process tree; return how many processes were signalled."""
    rec = service_record(ws, name)
    count = 0
    if rec:
        count = processes.stop_tree(rec["pgid"], owner=_owner(ws, name), grace=grace)
    else:
        leftovers = processes.owned_processes(_owner(ws, name))
        for proc in leftovers:
            count += processes.stop_tree(os.getpgid(proc.pid), owner=_owner(ws, name), grace=grace)
    _save_record(ws, name, None)
    return count


def down(home: Workspace | str | Path | None = None) -> dict[str, int]:
    """Stop every service of a workspace; return how many processes each had."""
    ws = Workspace.of(home)
    if not ws.state_file.exists():
        return {}
    return {name: stop_service(ws, name) for name in ("dagster", "airflow")}


def status(home: Workspace | str | Path | None = None) -> dict[str, Any]:
    """Services, health, ports, URLs and stage of a workspace."""
    ws = Workspace.of(home)
    state = ws.read_state()
    report: dict[str, Any] = {"home": str(ws.home), "stage": state.get("stage"), "services": {}}
    for name in SERVICES:
        rec = service_record(ws, name)
        entry: dict[str, Any] = {"running": _alive(rec)}
        if rec:
            entry.update(
                pid=rec["pid"],
                pgid=rec["pgid"],
                port=rec["port"],
                url=rec["url"],
                link=_link(rec),
                processes=len(service_processes(ws, name)),
            )
            entry["healthy"] = entry["running"] and _healthy(ws, name, rec)
        report["services"][name] = entry
    return report


def _link(rec: dict[str, Any]) -> str:
    return jupyter_proxy.link(rec["port"], rec.get("path_prefix", ""))


def ui_links(ws: Workspace) -> dict[str, str]:
    """Each running service's address for a learner's browser: through Jupyter, or on 127.0.0.1."""
    return {name: _link(rec) for name in SERVICES if (rec := service_record(ws, name))}


def _healthy(ws: Workspace, name: str, rec: dict[str, Any]) -> bool:
    try:
        return _airflow_ready(ws, rec) if name == "airflow" else _dagster_ready(ws, rec)
    except (ServiceError, AirflowError, DagsterError):
        return False


def service_processes(ws: Workspace, name: str) -> list[int]:
    """Pids of the processes that run for one service of the workspace."""
    rec = service_record(ws, name)
    found = (
        processes.tree(rec["pgid"], _owner(ws, name))
        if rec
        else {proc.pid: proc for proc in processes.owned_processes(_owner(ws, name))}
    )
    return sorted(found)


def workspace_processes(home: Workspace | str | Path | None = None) -> list[int]:
    """Pids of every process that runs for the workspace's services."""
    ws = Workspace.of(home)
    return sorted(pid for name in SERVICES for pid in service_processes(ws, name))
