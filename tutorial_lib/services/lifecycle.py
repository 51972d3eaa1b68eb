"""When each service runs: start a workspace's Airflow and Dagster, reuse them, wait until they are ready,
report their status, and stop them."""

from __future__ import annotations

import os
import re
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tutorial_lib import env_vars, log_excerpts, names, tuning, workspace
from tutorial_lib.clients.airflow import AirflowClient, AirflowError, import_error_message
from tutorial_lib.clients.dagster import DagsterClient, DagsterError
from tutorial_lib.progress import WaitTimeout, wait_until
from tutorial_lib.services import jupyter_proxy, processes
from tutorial_lib.services.command_lines import (
    BIN,
    airflow_command,
    code_server_socket,
    companions,
    dagster_command,
    dagster_commands,
    remove_short_private_folder,
)
from tutorial_lib.services.environment import airflow_env, dagster_env, login
from tutorial_lib.services.errors import PortTaken, ServiceError, ServiceStopped
from tutorial_lib.workspace import Workspace

SERVICES = ("airflow", "dagster")


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


WHAT_STOPPED = {
    "airflow": (
        "Airflow stopped: its scheduler and web server are gone (they run together: when one of them stops, "
        "the workbench stops the other), so no DAG run starts or ends."
    ),
    "dagster": (
        "Dagster stopped: its daemon, web server and code server are gone (they run together: when one of "
        "them stops, the workbench stops the others), so no sensor records Airflow's runs and no Dagster run "
        "starts."
    ),
}
ERROR_LINE = re.compile(r"\b(\w+Error|\w*Exception|Killed|Traceback|No space left|disk is full)\b")


def stopped_services(ws: Workspace) -> list[str]:
    """The services the workspace started that are not running any more (a stage that stops one on purpose
    removes its record: it is not counted)."""
    return [name for name in SERVICES if (rec := service_record(ws, name)) and not _alive(rec)]


def require_running(ws: Workspace) -> None:
    """Raise ServiceStopped, in words a learner can act on, if a service of the workspace has stopped."""
    stopped = stopped_services(ws)
    if not stopped:
        return
    still = [name.capitalize() for name in SERVICES if name not in stopped and service_record(ws, name)]
    parts = [WHAT_STOPPED[name] for name in stopped]
    for name in stopped:
        log = log_excerpts.tail(ws.log_file(name), 40).splitlines()
        cause = [line.strip() for line in log if ERROR_LINE.search(line)]
        if cause:
            parts.append(f"The end of its log (`airlift-tutorial logs {name}`) says: {cause[-1][:300]}")
            if log_excerpts.DISK_FULL.search(cause[-1]):
                parts.append(workspace.disk_full(ws.home))
    if still:
        parts.append(f"{' and '.join(still)} still run{'s' if len(still) == 1 else ''}.")
    parts.append(
        "Your files, your DAG runs and Dagster's history are kept. To go on: run the first code cell of this "
        "notebook again (or `airlift-tutorial up` in a terminal), which starts what stopped, then this cell."
    )
    raise ServiceStopped(" ".join(parts))


def airflow_client(ws: Workspace, record: dict[str, Any] | None = None) -> AirflowClient:
    """A client for the workspace's Airflow, with the workspace's own credentials."""
    record = record or service_record(ws, "airflow")
    if not record:
        raise ServiceError(
            "Airflow is not running in this workspace. Start it with `airlift-tutorial up` "
            "(or `tutorial.up()` in a notebook)."
        )
    client = AirflowClient(record["url"], *login(ws))
    client.alive = lambda: require_running(ws)
    return client


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
    client = DagsterClient(record["url"], auth=login(ws), timeout=timeout)
    client.alive = lambda: require_running(ws)
    return client


def _prepare_airflow(ws: Workspace, env: dict[str, str]) -> None:
    """Create Airflow's database, once per workspace (the web server adds the workspace's user). With a
    learner's own DAG folder, also store its DAGs at once: with SQLite the scheduler's loop parses one file
    per pass, a minute or more for a folder of fifty files; `airflow dags reserialize` takes seconds."""
    first = not ws.read_state().get("airflow_initialized")
    steps = [["db", "migrate"]] if first else []
    steps += [["dags", "reserialize"]] if ws.your_dags() else []
    for step in steps:
        processes.run_checked(
            [str(BIN / "airflow"), *step],
            env=env,
            cwd=ws.home,
            what=f"airflow {' '.join(step)}",
            log_file=ws.log_file("airflow-setup"),
        )
    if first:
        ws.update_state(airflow_initialized=True)


def _start_airflow(ws: Workspace, port: int, dagster_url: str, prefix: str) -> dict[str, Any]:
    env = airflow_env(ws, port=port, dagster_url=dagster_url, path_prefix=prefix)
    return _spawn_service(ws, "airflow", airflow_command(), env, port, prefix, dagster_url=dagster_url)


def _start_dagster(ws: Workspace, port: int, prefix: str) -> dict[str, Any]:
    commands = dagster_commands(ws, port, prefix)
    argv = dagster_command(ws, commands)
    socket_path = str(code_server_socket(ws))
    env = dagster_env(ws)
    if tuning.dagster_companions_forked():
        env[env_vars.DAGSTER_COMPANIONS] = companions(commands)
    return _spawn_service(ws, "dagster", argv, env, port, prefix, socket=socket_path)


def _spawn_service(
    ws: Workspace, name: str, argv: list[str], env: dict[str, str], port: int, prefix: str, **extra: Any
) -> dict[str, Any]:
    """Start a service in a session of its own and return the record the state file keeps of it."""
    log = ws.log_file(name)
    log_offset = log.stat().st_size if log.exists() else 0
    proc = processes.spawn(argv, env=env, log_file=log, cwd=ws.home, owner=_owner(ws, name))
    return {
        "pid": proc.pid,
        "pgid": os.getpgid(proc.pid),
        "create_time": proc.create_time(),
        "port": port,
        "path_prefix": prefix,
        "url": f"http://127.0.0.1:{port}{prefix}",
        "started_at": time.time(),
        "login": True,  # started behind the workspace's login; `up` restarts services from before it
        "log_offset": log_offset,  # where this start's lines begin in the service's log
        **extra,
    }


PORT_IN_USE = re.compile(r"address already in use", re.IGNORECASE)


def _died(ws: Workspace, name: str, record: dict[str, Any]) -> ServiceError:
    try:
        with open(ws.log_file(name), "rb") as log:
            log.seek(record.get("log_offset", 0))
            this_start = log.read().decode(errors="replace")
    except OSError:
        this_start = ""
    if PORT_IN_USE.search(this_start):
        return PortTaken(
            f"Port {record['port']}, chosen for {name.capitalize()}, was taken by another program before "
            f"{name.capitalize()} could listen on it."
        )
    excerpt = log_excerpts.tail(ws.log_file(name))
    fix = (
        workspace.disk_full(ws.home)
        if log_excerpts.DISK_FULL.search(excerpt)
        else "Fix the cause shown above."
    )
    return ServiceError(
        f"{name.capitalize()} stopped while starting. Last lines of {ws.log_file(name)}:\n{excerpt}\n"
        f"{fix} Then run `airlift-tutorial up` again."
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
    (after `loaded_after` and after the code server started listening, reloading if needed). A location that
    failed to load is loaded again first: the learner may have fixed the file since, and a fixed file must
    count without a restart. A Dagster that answers without the login is never reported ready."""
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
        entry = client.locations().get(names.LOCATION_NAME)
        if entry is None or entry["status"] != "LOADED":
            return False
        if entry["updated"] < max(loaded_after, listening) or entry["error"]:
            # Loaded before Airflow had the DAGs, before the code server listened, or with an error that a
            # fixed file may have mended: load it again now (in-process, under a second).
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
            f"{exc}\nLast lines of {ws.log_file(name)}:\n{log_excerpts.tail(ws.log_file(name))}\n"
            "The machine may be busy: run `airlift-tutorial up` again."
        ) from exc
    except Exception:
        # Whatever else went wrong (it died, failed to load, answered nonsense): it is stopped, and the error
        # goes on unchanged. Nothing is swallowed, so no type is named: any error must stop what was started.
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
    if it loaded before Airflow was ready. A port the workbench chose that another program takes before
    the service listens on it is given up for another free one, once.
    """
    ws = Workspace.of(home)
    ws.ensure()
    try:
        return _up(ws, airflow_port, dagster_port, show, timeout)
    except PortTaken as taken:
        if airflow_port is not None or dagster_port is not None:
            raise PortTaken(
                f"{taken} Choose another port, or leave the port out: the workbench picks a free one."
            ) from taken
        print(f"Note: {taken} Starting it again on another free port.", file=sys.stderr, flush=True)
        return _up(ws, None, None, show, timeout)


def _say_what_stopped(ws: Workspace) -> None:
    """A note on stderr naming the services that stopped since they were started (the machine restarted,
    or they were stopped outside the workbench), before `up` starts them again."""
    stopped = stopped_services(ws)
    if not stopped:
        return
    rebooted = all(processes.started_before_boot(service_record(ws, name)["create_time"]) for name in stopped)
    why = "the machine has restarted since" if rebooted else "stopped outside the workbench, or died"
    names = " and ".join(name.capitalize() for name in stopped)
    were = "were" if len(stopped) > 1 else "was"
    print(
        f"Note: {names} of this workspace {were} not running any more ({why}): starting again."
        " Your files, DAG runs and Dagster's history are kept.",
        file=sys.stderr,
        flush=True,
    )


def _up(
    ws: Workspace, airflow_port: int | None, dagster_port: int | None, show: bool, timeout: float
) -> Services:
    """One attempt of `up`, with the ports asked for (None: a free one)."""
    proxy_base = jupyter_proxy.server_base()
    airflow_rec, dagster_rec = service_record(ws, "airflow"), service_record(ws, "dagster")
    _say_what_stopped(ws)
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
        # Airflow failed (its error goes on unchanged): the Dagster started with it is stopped too. Nothing is
        # swallowed, so no type is named: any error must stop what was started.
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
    """Wait until Airflow lists a DAG for every DAG file in the workspace; raise on import errors. With a
    learner's own DAG folder: until it lists every DAG `assess` found (its import errors are theirs, reported
    by `assess`, not the workbench's to stop on)."""
    project = ws.your_dags()
    if project:
        expected = set(project["dag_ids"])
    else:
        expected = {path.stem for path in ws.dags_dir.glob("*.py") if not path.name.startswith("_")}

    def probe() -> bool:
        errors = [] if project else client.import_errors()
        if errors:
            raise AirflowError(import_error_message(errors[0]))
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
    if rec and not processes.started_before_boot(rec["create_time"]):
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
    inner = Workspace(ws.your_dags_home)
    if inner.state_file.exists():  # the learner's own DAGs, peered live inside this workspace
        down(inner)
    stopped = (
        {name: stop_service(ws, name) for name in ("dagster", "airflow")} if ws.state_file.exists() else {}
    )
    remove_short_private_folder(ws)
    return stopped


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
