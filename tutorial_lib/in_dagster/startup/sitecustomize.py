"""Start-up hooks for the workspace's Dagster processes (this folder is on their PYTHONPATH only).

Each is applied the moment Dagster imports the module it changes. Always, as it is security: the webserver
serves its app behind the workspace's login (`tutorial_lib/in_dagster/gate.py`); if the place it hooks into is
gone, the webserver does not start. The speed tunings, which Dagster exposes no setting for, apply only as
`tutorial_lib/tuning.py` allows:
- The code server starts runs from a fork server (Python's "forkserver" start method) that has already
  imported Dagster, dbt and airlift (`_run_preload.py`), instead of spawning a fresh interpreter that
  imports them all again: about 10-15 s less per run on a small machine. The fork server is a
  single-threaded process, so forking it is safe, unlike forking the multi-threaded gRPC server. It is
  itself forked from the code server before that loads definitions or starts a thread, so the two share
  the libraries' memory (stock: a new interpreter importing them again, ~200 MB and ~8 s of CPU).
- The sensor daemon looks for due sensors every second instead of every 5 s, so a finished Airflow run
  reaches Dagster about 2 s sooner (the airlift sensor itself runs every second).
- While no Airflow DAG run has ended in the last 10 s, the daemon evaluates the airlift sensor every 15 s
  instead of every second, and its sensor loop sleeps as long (`_sensor_wake.py`). Airflow tells it when
  one ends (`tutorial_lib/in_airflow/plugins/`, through a file's time), which ends the sleep at once, so
  observation stays as quick while an idle workspace stops polling Airflow and Dagster's storage. The
  Airlift component's monitoring sensor keeps its 30 s, but is also evaluated as soon as a DAG run ends.
- The code server (`dagster api grpc`) reloads the definitions in its own process when asked to, instead of
  the stock code-server proxy starting a new interpreter that imports Dagster and dbt all over again: a
  stage start takes a second or two instead of 12-16 s. The stage modules (`dagster_defs`, the code
  location) are imported afresh. The fork server preloads libraries only, never them, so each run imports
  the definitions as they are when it starts (0.1-0.2 s).

- dbt makes its locks from a fork context, which needs no resource-tracker interpreter
  (`tutorial_lib/dbt_locks.py`), in the code server, its runs and the `dbt` they start.
- A run's output capture watches each `tail -F` it starts with a shell loop instead of a Python interpreter
  of its own (`_shell_log_watcher`): about 18 MB less per running run.

One more is a fix, not a tuning: dagster-airlift's monitoring job (the Airlift component's) mirrors each
Airflow run as one Dagster run however its ranges fall (`_airlift_mirrored_runs.py`).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from types import ModuleType

from tutorial_lib import env_vars

# Instructors can trade latency for CPU on a crowded host (each sensor pass costs Airflow and Dagster work).
SENSOR_LOOP_SECONDS = float(os.environ.get(env_vars.SENSOR_LOOP_SECONDS) or 1.0)


def _fork_runs(module: ModuleType) -> None:
    import multiprocessing
    import threading

    server_class = getattr(module, "DagsterApiServer", None)
    if server_class is None:
        return
    original_init = server_class.__init__

    def __init__(self, *args, **kwargs) -> None:
        # Before the server loads definitions or starts a thread: fork the fork server from this process,
        # which has just imported the libraries runs need, so both share those pages.
        forked = _fork_the_fork_server()
        original_init(self, *args, **kwargs)
        if not hasattr(self, "_mp_ctx"):  # the multiprocessing context runs start from, in 1.13
            return
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["_run_preload"])
        self._mp_ctx = context
        if not forked:  # start the stock fork server (a new interpreter) now, not at the first run
            threading.Thread(target=_start_fork_server, daemon=True).start()

    server_class.__init__ = __init__


def _start_fork_server() -> None:
    from multiprocessing import forkserver

    forkserver.ensure_running()


def _fork_the_fork_server() -> bool:
    """Start multiprocessing's fork server as a fork of this process (its preloads imported here first)
    instead of a new interpreter; False, leaving the stock start, if this process already runs threads."""
    import gc
    import socket
    import threading
    from multiprocessing import connection, forkserver, resource_tracker

    import _run_preload  # noqa: F401  (the libraries every run needs)

    server = forkserver._forkserver
    if threading.active_count() > 1 or getattr(server, "_forkserver_pid", "missing") is not None:
        return False
    resource_tracker.ensure_running()
    # Objects that exist now are never moved by the garbage collector again, so that its passes do not
    # write to (and so un-share) the pages both processes hold.
    gc.freeze()
    address = connection.arbitrary_address("AF_UNIX")
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(address)
        os.chmod(address, 0o600)
        listener.listen()
        alive_r, alive_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the fork server: serves fork requests until the code server is gone
            code = 0
            try:
                os.close(alive_w)
                forkserver.main(listener.fileno(), alive_r, [])
            except SystemExit:
                pass
            except BaseException:  # the fork server's own failure: said on its stderr (the Dagster log)
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        os.close(alive_r)
    server._forkserver_address = address
    server._forkserver_alive_fd = alive_w
    server._forkserver_pid = pid
    return True


# The modules a reload imports afresh: the workbench's code location and every stage's definitions.
RELOADED_MODULES = ("tutorial_lib.in_dagster.code_location", "dagster_defs")


def _reload_in_process(module: ModuleType) -> None:
    server_class = getattr(module, "DagsterApiServer", None)
    loaded_class = getattr(module, "LoadedRepositories", None)
    if server_class is None or loaded_class is None:
        return
    original_init = server_class.__init__

    def __init__(self, *args, **kwargs) -> None:
        self._tutorial_location_name = kwargs.get("location_name")  # the server keeps no copy of its own
        original_init(self, *args, **kwargs)

    def ReloadCode(self, request, context):  # noqa: N802 (the gRPC method's name)
        import sys
        import uuid

        from dagster._core.definitions.reconstruct import ReconstructableJob
        from dagster._utils.error import serializable_error_info_from_exc_info

        with self._reload_lock:
            for name in [n for n in sys.modules if n.startswith(RELOADED_MODULES)]:
                del sys.modules[name]
            ReconstructableJob.get_definition.cache_clear()
            ReconstructableJob.get_repository_definition.cache_clear()
            try:
                self._loaded_repositories = loaded_class(
                    self._loadable_target_origin,
                    entry_point=self._entry_point,
                    container_image=self._container_image,
                    container_context=self._container_context,
                    defs_state_info=self._defs_state_info,
                    code_location_name=getattr(self, "_tutorial_location_name", None),
                )
                self._serializable_load_error = None
            except Exception:
                self._loaded_repositories = None
                self._serializable_load_error = serializable_error_info_from_exc_info(sys.exc_info())
                self._logger.exception("Error while reloading the definitions")
            self._server_id = str(uuid.uuid4())  # tells the webserver and the daemon to fetch them anew
        return module.dagster_api_pb2.ReloadCodeReply()

    server_class.__init__ = __init__
    server_class.ReloadCode = ReloadCode


# While no Airflow DAG run has ended lately, the airlift sensor is evaluated only this often.
QUIET_SENSOR_SECONDS = float(os.environ.get(env_vars.QUIET_SENSOR_SECONDS) or 15.0)
# For this long after a DAG run ended (Airflow commits the run's end a moment after telling its
# listeners), the airlift sensor is evaluated at its own interval.
WAKE_WINDOW_SECONDS = 10.0
AIRLIFT_SENSOR_SUFFIX = "__airflow_dag_status_sensor"
# The Airlift component's monitoring sensor (30 s apart, Dagster's default) is also evaluated when a DAG run
# has ended since its last tick, and then every few seconds for the rest of the window (the job of the first
# tick may not see the run's end yet, or may still run: the sensor skips while it does).
MONITORING_SENSOR_SUFFIX = "__airflow_monitoring_job_sensor"
MONITORING_RETICK_SECONDS = 4.0


def _quiet_airlift_sensor(module: ModuleType) -> None:
    original = getattr(module, "is_under_min_interval", None)
    elapsed_of = getattr(module, "get_elapsed", None)
    wake_file = os.environ.get(env_vars.WAKE_FILE)
    if original is None or elapsed_of is None or not wake_file:
        return

    def woken_monitoring(state) -> bool:
        elapsed = elapsed_of(state)
        try:
            since_end = time.time() - os.stat(wake_file).st_mtime
        except OSError:
            return False
        if elapsed is None or since_end > WAKE_WINDOW_SECONDS:
            return False
        return elapsed > since_end or elapsed >= MONITORING_RETICK_SECONDS

    def is_under_min_interval(state, remote_sensor, minimum_allowed_min_interval=None) -> bool:
        if remote_sensor.name.endswith(MONITORING_SENSOR_SUFFIX) and woken_monitoring(state):
            return False
        if original(state, remote_sensor, minimum_allowed_min_interval):
            return True
        if not remote_sensor.name.endswith(AIRLIFT_SENSOR_SUFFIX):
            return False
        elapsed = elapsed_of(state)
        if elapsed is None or elapsed >= QUIET_SENSOR_SECONDS:
            return False
        try:
            ended = os.stat(wake_file).st_mtime
        except OSError:
            return True
        return time.time() - ended > WAKE_WINDOW_SECONDS

    module.is_under_min_interval = is_under_min_interval
    loop = getattr(module, "execute_sensor_iteration_loop", None)
    if loop is None:
        return
    from _sensor_wake import WakeableShutdown

    def execute_sensor_iteration_loop(workspace_process_context, logger, shutdown_event, *args, **kwargs):
        # The loop's sleep between passes, too, grows while Airflow is quiet (see _sensor_wake.py).
        wakeable = WakeableShutdown(
            shutdown_event,
            wake_file,
            quiet_seconds=QUIET_SENSOR_SECONDS,
            window_seconds=WAKE_WINDOW_SECONDS,
        )
        return loop(workspace_process_context, logger, wakeable, *args, **kwargs)

    module.execute_sensor_iteration_loop = execute_sensor_iteration_loop


def _faster_sensor_loop(module: ModuleType) -> None:
    if hasattr(module, "MIN_INTERVAL_LOOP_TIME"):  # the constant the daemon's loop sleeps on, in 1.13
        module.MIN_INTERVAL_LOOP_TIME = SENSOR_LOOP_SECONDS


def _fork_companions(module: ModuleType) -> None:
    server_class = getattr(module, "DagsterApiServer", None)
    if server_class is None:
        return
    original_init = server_class.__init__

    def __init__(self, *args, **kwargs) -> None:
        # Taken out of the environment, so that nothing this server starts forks them again.
        wanted = os.environ.pop(env_vars.DAGSTER_COMPANIONS, None)
        if not wanted:
            original_init(self, *args, **kwargs)
            return
        import json

        import _companions

        from tutorial_lib import tuning

        if tuning.use("dagster_companions_in_threads"):
            original_init(self, *args, **kwargs)  # the fork server first: no fork is safe once threads run
            _companions.watch(_companions.start_threads(json.loads(wanted)))
            return
        started = _companions.start(json.loads(wanted))
        original_init(self, *args, **kwargs)  # the fork server is forked in there, before any thread
        _companions.watch(started)

    server_class.__init__ = __init__


# Dagster captures a run's output with `tail -F` per stream, each watched by a Python interpreter that ends
# the tail if the run dies (dagster/_core/execution/scripts/watch_orphans.py, ~9 MB each). A shell loop does
# the same: while the run lives, wait a second; then end the tail.
ORPHAN_WATCH = 'while kill -0 "$0" 2>/dev/null; do sleep 1; done; kill "$1" 2>/dev/null'


def _shell_log_watcher(module: ModuleType) -> None:
    clean_up, fileno = getattr(module, "_clean_up_subprocess", None), getattr(module, "_fileno", None)
    if getattr(module, "execute_posix_tail", None) is None or clean_up is None or fileno is None:
        return
    import contextlib
    import subprocess

    @contextlib.contextmanager
    def execute_posix_tail(path, stream):
        stream = stream if fileno(stream) else None
        tail = watcher = None
        try:
            tail = subprocess.Popen(["tail", "-F", "-c", "+0", path], stdout=stream)
            watcher = subprocess.Popen(["sh", "-c", ORPHAN_WATCH, str(os.getpid()), str(tail.pid)])
            yield (tail.pid, watcher.pid)
        finally:
            # Dagster's own setting: time for the tail to catch up before it is stopped.
            time.sleep(float(os.getenv("DAGSTER_COMPUTE_LOG_TAIL_WAIT_AFTER_FINISH", "0")))
            for process in (tail, watcher):
                if process is not None:
                    clean_up(process)

    module.execute_posix_tail = execute_posix_tail


def _dbt_locks_without_tracker(module: ModuleType) -> None:
    from tutorial_lib import dbt_locks

    dbt_locks.use_fork_context(module)


def _mirror_runs_whole(module: ModuleType) -> None:
    from _airlift_mirrored_runs import apply

    apply(module)


def _gate_webserver(module: ModuleType) -> None:
    from tutorial_lib.in_dagster import gate

    gate.install(module)  # raises, stopping the webserver, if it cannot


def _selected() -> dict[str, Callable[[ModuleType], None]]:
    """The tunings `tutorial_lib/tuning.py` allows: the Dagster version they were written for, not off."""
    from tutorial_lib import tuning

    chosen = [
        ("dagster._grpc.server", "dagster_fork_server_runs", _fork_runs),
        ("dagster._grpc.server", "dagster_in_process_reload", _reload_in_process),
        # Applied last, so it runs first: forked companions come before the fork server, threads after it.
        ("dagster._grpc.server", "dagster_companions_forked", _fork_companions),
        ("dagster._daemon.sensor", "dagster_sensor_loop", _faster_sensor_loop),
        ("dagster._daemon.sensor", "dagster_quiet_sensor", _quiet_airlift_sensor),
        ("dagster._core.execution.compute_logs", "dagster_shell_log_watcher", _shell_log_watcher),
        ("dbt.mp_context", "dbt_locks_without_tracker", _dbt_locks_without_tracker),
        ("dagster_airlift.core.monitoring_job.event_stream", "airlift_mirrored_run_fix", _mirror_runs_whole),
    ]
    hooks: dict[str, list[Callable[[ModuleType], None]]] = {}
    for module, name, apply in chosen:
        if tuning.state(name) == "live":
            hooks.setdefault(module, []).append(apply)
    return {module: _all_of(applies) for module, applies in hooks.items()}


def _all_of(applies: list[Callable[[ModuleType], None]]) -> Callable[[ModuleType], None]:
    def apply_all(module: ModuleType) -> None:
        for apply in applies:
            apply(module)

    return apply_all


# The login is registered first, so that nothing the tunings do can keep it from the webserver.
HOOKS: dict[str, Callable[[ModuleType], None]] = {"dagster_webserver.cli": _gate_webserver}


class _HookFinder(importlib.abc.MetaPathFinder):
    """Finds the hooked modules as usual, then applies the hook right after each one runs."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        hook = HOOKS.get(fullname)
        if hook is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            hook(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


sys.meta_path.insert(0, _HookFinder())
TUNINGS: dict[str, Callable[[ModuleType], None]] = _selected()
HOOKS.update(TUNINGS)
