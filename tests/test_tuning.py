"""The speed tunings: live with the locked versions (a canary that fails if one silently stops working), and
stock behaviour, with one warning, when switched off or facing other versions."""

from __future__ import annotations

import importlib.util
import inspect
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

import tutorial_lib
from tutorial_lib import services, tuning
from tutorial_lib.in_airflow import scheduler_wake as airflow_scheduler_wake
from tutorial_lib.in_airflow import webserver as airflow_webserver
from tutorial_lib.progress import WaitTimeout, wait_until
from tutorial_lib.workspace import Workspace


def test_every_tuning_is_live_with_the_locked_versions() -> None:
    assert tuning.report() == dict.fromkeys(tuning.TUNINGS, "live")


def test_switched_off_every_tuning_runs_stock(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(tuning.SETTING, "off")
    assert set(tuning.report().values()) == {"stock (AIRLIFT_TUTORIAL_TUNING=off)"}
    ws = Workspace(tmp_path / "ws").ensure()
    assert services.airflow_env(ws, port=1, dagster_url="")["AIRFLOW__CORE__EXECUTOR"] == "SequentialExecutor"
    dagster = services.dagster_env(ws)
    assert dagster["PYTHONPATH"] == str(services.DAGSTER_STARTUP)  # for the login, which is no tuning
    assert "GRPC_ENABLE_FORK_SUPPORT" not in dagster
    airflow = services.airflow_env(ws, port=1, dagster_url="")
    assert airflow_scheduler_wake.WAKE_FILE_VAR not in airflow
    assert airflow["AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME"] == "1"
    assert "AIRFLOW__CORE__TASK_RUNNER" not in airflow  # stock: LocalTaskJob forks the task
    code_server = services.dagster_commands(ws, 1, "")[0]
    assert code_server[3:5] == ["code-server", "start"]  # stock: the proxy restarts a server per reload


def test_another_version_falls_back_to_stock_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(tuning.TUNINGS, "dagster_sensor_loop", ("dagster", "9."))
    monkeypatch.setattr(tuning, "_warned", set())
    with caplog.at_level(logging.WARNING, logger=tuning.__name__):
        assert tuning.use("dagster_sensor_loop") is False
        assert tuning.use("dagster_sensor_loop") is False
    assert [r.getMessage() for r in caplog.records] == [
        "Speed tuning dagster_sensor_loop is off, running stock behaviour: "
        f"stock (written for dagster 9.x, found {tuning._installed('dagster')})."
    ]


def test_the_private_parts_the_tunings_use_are_still_there() -> None:
    from airflow.executors.sequential_executor import SequentialExecutor
    from airflow.www import app
    from dagster._core.definitions.reconstruct import ReconstructableJob
    from dagster._daemon import sensor
    from dagster._grpc import server

    assert "self._mp_ctx" in inspect.getsource(server.DagsterApiServer.__init__)
    # What the in-process reload rebuilds the definitions from, as the server's own __init__ does.
    init = inspect.getsource(server.DagsterApiServer.__init__)
    for part in ("_loadable_target_origin", "_entry_point", "_container_image", "_container_context"):
        assert f"self.{part} =" in init, part
    assert "self._reload_lock" in init and "self._defs_state_info" in init
    loaded = inspect.signature(server.LoadedRepositories).parameters
    assert {"defs_state_info", "code_location_name"} <= set(loaded)
    assert callable(ReconstructableJob.get_definition.cache_clear)
    assert isinstance(sensor.MIN_INTERVAL_LOOP_TIME, int | float)
    # dagster_quiet_sensor wraps the daemon's "is it due yet" check, which the loop looks up in its module.
    assert list(inspect.signature(sensor.is_under_min_interval).parameters)[:2] == ["state", "remote_sensor"]
    assert "is_under_min_interval(sensor_state, sensor)" in inspect.getsource(sensor.execute_sensor_iteration)
    assert callable(sensor.get_elapsed)
    # ...and the sensor loop's sleep, on the shutdown event the daemon hands it.
    loop = sensor.execute_sensor_iteration_loop
    assert list(inspect.signature(loop).parameters)[:3] == [
        "workspace_process_context",
        "logger",
        "shutdown_event",
    ]
    assert "shutdown_event.wait(sleep_time)" in inspect.getsource(loop)
    # airflow_login_stat_throttle wraps the security manager's method every login goes through.
    from airflow.providers.fab.auth_manager.security_manager.override import FabAirflowSecurityManagerOverride

    assert "update_user_auth_stat(user" in inspect.getsource(FabAirflowSecurityManagerOverride.auth_user_db)
    assert "commands_to_run" in inspect.getsource(SequentialExecutor)
    # airflow_in_process_task: what the stock runner's fork runs, from the command LocalTaskJob built.
    from airflow.task.task_runner.standard_task_runner import StandardTaskRunner

    forked = inspect.getsource(StandardTaskRunner._start_by_fork)
    assert "parser.parse_args(self._command[1:])" in forked and "args.func(args, dag=self.dag)" in forked
    assert "self._rc" in inspect.getsource(StandardTaskRunner.return_code)
    # dagster_shell_log_watcher replaces the function that starts the tail and its Python watcher.
    from dagster._core.execution import compute_logs

    assert "watch_orphans" in inspect.getsource(compute_logs.execute_posix_tail)
    assert "execute_posix_tail(path, stream)" in inspect.getsource(compute_logs.tail_to_stream)
    assert callable(compute_logs._clean_up_subprocess) and callable(compute_logs._fileno)
    # dbt_locks_without_tracker swaps the context dbt makes its locks from.
    from dbt import mp_context

    assert mp_context.get_mp_context() is mp_context._MP_CONTEXT
    assert callable(app.cached_app)


def _tick_times(wb: tutorial_lib.Workbench, *, after: float) -> list[float]:
    """The times of the airlift sensor's ticks after `after`, oldest first."""
    ticks = wb.dagster.sensor_ticks(tutorial_lib.SENSOR_NAME, limit=30)
    return sorted(t["timestamp"] for t in ticks if t["timestamp"] > after)


def _pid_of(ws: Workspace, command: str) -> int:
    """The pid of the workspace's Dagster process running `command` (the parent, if its child runs it too)."""
    found = {}
    for pid in services.service_processes(ws, "dagster"):
        try:
            process = psutil.Process(pid)
            if " ".join(process.cmdline()) == command:
                found[pid] = process.ppid()
        except psutil.Error:
            pass
    parents = [pid for pid, parent in found.items() if parent not in found]
    assert len(parents) == 1, f"{len(parents)} processes run {command}"
    return parents[0]


COMPANION_NAMES = ("dagster-webserv", "dagster-daemon")


@pytest.mark.stage
def test_each_tuning_is_live_in_running_services(running: services.Services) -> None:
    wb = tutorial_lib.Workbench(running.workspace, running.airflow, running.dagster, show=False)
    ws = wb.workspace
    wb.start_stage("peer")
    log_size = ws.log_file("airflow").stat().st_size
    # dagster_quiet_sensor: with no DAG run ended lately, the airlift sensor is not evaluated every second.
    services.wake_file(ws).touch()
    os.utime(services.wake_file(ws), (0, 0))
    quiet_from = time.time()
    time.sleep(6)
    quiet = _tick_times(wb, after=quiet_from)
    assert len(quiet) <= 1, quiet  # stock: one tick a second (the sensor's own interval)
    run = wb.run_dag()
    # The ticks that follow the run's end (a few seconds' worth; stock behaviour never gets there).
    try:
        wait_until(lambda: len(_tick_times(wb, after=run.ended_at)) >= 3, what="ticks", timeout=8, show=False)
    except WaitTimeout:
        pass  # the assertion below says what was seen

    def commands(name: str) -> list[str]:
        found = []
        for pid in services.service_processes(ws, name):
            try:
                found.append(" ".join(psutil.Process(pid).cmdline()))
            except psutil.Error:
                pass
        return found

    # airflow_in_process_task: the task ran in LocalTaskJob's process, which still ended it as usual.
    logs = ws.airflow_home / "logs"
    task_log = next(logs.glob(f"dag_id=*/run_id={run.run_id}/task_id=build_dbt_models/*"))
    logged = task_log.read_text()
    assert "Running the task in this process" in logged and "Started process" not in logged, logged[-3000:]
    assert "Task exited with return code 0" in logged and "follow-on schedule check" in logged
    with ws.log_file("airflow").open() as log:
        assert "Warmed dbt up for forked tasks" in log.read(log_size)  # airflow_warm_dbt, at the start
        assert "Executing command in a fork" in log.read()  # airflow_forking_executor
    assert services.scheduler_wake_file(ws).exists()  # airflow_scheduler_wake: the trigger woke it
    airflow = commands("airflow")
    assert not any("gunicorn" in c for c in airflow), airflow  # airflow_one_process_webserver
    # airflow_webserver_forked: the web server is a fork of the scheduler, named.
    leader = services.service_record(ws, "airflow")["pid"]
    scheduler = next(
        proc for proc in psutil.Process(leader).children() if "scheduler" in " ".join(proc.cmdline())
    )
    assert [child.name() for child in scheduler.children()].count("airflow-webserv") == 1
    # dagster_fork_server_runs: the fork server runs fork from is a fork of the code server (same command).
    code_server = f"{sys.executable} -m dagster api grpc "
    servers = sorted({c for c in commands("dagster") if c.startswith(code_server)})
    assert len(servers) == 1, commands("dagster")
    server = psutil.Process(_pid_of(ws, servers[0]))
    children = {child.name(): " ".join(child.cmdline()) for child in server.children()}
    assert [child for name, child in children.items() if name not in COMPANION_NAMES].count(servers[0]) == 1
    # dagster_companions_in_threads: the webserver and the daemon are threads of the code server: no process
    # of their own, and the code server listens on the webserver's port.
    assert not set(children) & set(COMPANION_NAMES), children
    assert not [c for c in commands("dagster") if "dagster_webserver" in c or "dagster._daemon" in c]
    listening = {conn.laddr.port for conn in server.net_connections(kind="tcp") if conn.status == "LISTEN"}
    assert services.service_record(ws, "dagster")["port"] in listening, listening
    # dagster_sensor_loop, and the listener waking the sensor: evaluated every second after the run ended.
    woken = _tick_times(wb, after=run.ended_at)
    gaps = [later - earlier for earlier, later in zip(woken, woken[1:], strict=False)]
    assert len(woken) >= 2 and max(gaps) < 2.5, woken  # stock: a tick every 5 s or more
    # dagster_in_process_reload: new definitions, from the same code server process.
    server_pid = server.pid
    before = set(wb.dagster.asset_keys())
    wb.use_definitions("decommission")
    after = set(wb.dagster.asset_keys())
    assert before != after and not any(key.startswith("airflow/") for key in after), (before, after)
    assert _pid_of(ws, servers[0]) == server_pid


def test_the_sensor_daemon_runs_the_wakeable_sensor_loop(tmp_path: Path) -> None:
    # The hook must wrap the loop before the daemon module imports it by name.
    probe = "from dagster._daemon import daemon; print(daemon.execute_sensor_iteration_loop.__qualname__)"
    env = {**services.dagster_env(Workspace(tmp_path / "ws").ensure()), "PATH": os.environ["PATH"]}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "_quiet_airlift_sensor.<locals>.execute_sensor_iteration_loop"


def _wakeable(tmp_path: Path, quiet_seconds: float) -> tuple[Any, threading.Event, Path]:
    """A WakeableShutdown (from the Dagster processes' start-up folder) on a fresh event and wake file."""
    spec = importlib.util.spec_from_file_location(
        "_sensor_wake", services.DAGSTER_STARTUP / "_sensor_wake.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    wake_file, event = tmp_path / "dag_run_ended", threading.Event()
    wake_file.touch()
    os.utime(wake_file, (0, 0))
    shutdown = module.WakeableShutdown(event, str(wake_file), quiet_seconds=quiet_seconds, window_seconds=10)
    return shutdown, event, wake_file


def test_the_quiet_sensor_loop_sleeps_long_until_a_dag_run_ends(tmp_path: Path) -> None:
    shutdown, _, wake_file = _wakeable(tmp_path, quiet_seconds=0.6)
    started = time.monotonic()
    assert shutdown.wait(0.05) is False
    assert time.monotonic() - started >= 0.55  # quiet: the loop's 0.05 s became the quiet interval
    shutdown, _, wake_file = _wakeable(tmp_path, quiet_seconds=60)
    threading.Timer(0.3, wake_file.touch).start()
    started = time.monotonic()
    assert shutdown.wait(0.05) is False
    assert time.monotonic() - started < 30  # woken by the file, long before the quiet interval
    started = time.monotonic()
    assert shutdown.wait(0.05) is False
    assert time.monotonic() - started < 30  # within the wake window: the loop's own short sleep


def test_the_quiet_sensor_loop_still_stops_at_once_on_shutdown(tmp_path: Path) -> None:
    shutdown, event, _ = _wakeable(tmp_path, quiet_seconds=60)
    threading.Timer(0.2, event.set).start()
    started = time.monotonic()
    assert shutdown.wait(1) is True
    assert time.monotonic() - started < 30 and shutdown.is_set()


def test_successful_logins_are_written_once_a_minute_and_failures_always() -> None:
    writes: list[tuple[int, bool]] = []

    class Security:
        def update_user_auth_stat(self, user: object, success: bool = True) -> None:
            writes.append((user.id, success))  # type: ignore[attr-defined]
            user.fail_login_count = 0 if success else 1  # type: ignore[attr-defined]

    class User:
        id, fail_login_count = 7, 0

    security, user = Security(), User()
    airflow_webserver.throttle_login_stats(security, every=60)
    for _ in range(5):
        security.update_user_auth_stat(user, True)
    security.update_user_auth_stat(user, False)
    security.update_user_auth_stat(user, True)  # written: it resets the failure count
    security.update_user_auth_stat(user, True)
    assert writes == [(7, True), (7, False), (7, True)]


def test_warming_dbt_up_touches_no_workspace_data_and_forked_builds_use_the_workspace(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws").ensure()
    script = """
import json, os, subprocess, sys
from pathlib import Path
from customers_pipeline import logic, paths
from tutorial_lib.in_airflow.executor import RAW_CUSTOMER_COLUMNS, warm_dbt

scratch = Path(sys.argv[1])
warmed = warm_dbt(scratch)
report = {"warmed": warmed, "home": os.environ["AIRLIFT_TUTORIAL_HOME"],
          "threads": len(os.listdir("/proc/self/task")), "real_db_before": paths.duckdb_path().exists()}
probe = "import duckdb, sys; duckdb.connect(sys.argv[1]).close()"
report["scratch_db_free"] = subprocess.run(
    [sys.executable, "-c", probe, str(scratch / "data" / "jaffle_shop.duckdb")]).returncode == 0
pid = os.fork()
if pid == 0:
    logic.load_csv_to_duckdb(paths.raw_customers_csv(), paths.duckdb_path(), "raw_data", "raw_customers",
                             list(RAW_CUSTOMER_COLUMNS))
    built = logic.run_dbt_build(paths.DBT_PROJECT_DIR, paths.dbt_target_path(), paths.dbt_log_path())
    os._exit(0 if len(built) == 29 else 3)
report["fork_status"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
import duckdb
with duckdb.connect(str(paths.duckdb_path()), read_only=True) as con:
    report["customers"] = con.execute("select count(*) from main.customers").fetchone()[0]
print(json.dumps(report))
"""
    env = {**os.environ, "AIRLIFT_TUTORIAL_HOME": str(ws.home)}
    scratch = ws.airflow_home / "dbt_warmup"
    done = subprocess.run(
        [sys.executable, "-c", script, str(scratch)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # The forked build parsed the project afresh (a new workspace has no partial parse): with dbt's static
    # parser used in the warm-up, that parse hung in the fork.
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {
        "warmed": True,
        "home": str(ws.home),  # restored after the scratch build
        "threads": 1,  # forking stays safe
        "real_db_before": False,  # the workspace's DuckDB file was never created or opened
        "scratch_db_free": True,  # dbt-duckdb closed its cached database before any fork
        "fork_status": 0,
        "customers": report["customers"],
    }
    assert report["customers"] > 0


def test_the_scheduler_sleeps_long_until_a_request_changes_something(tmp_path: Path) -> None:
    wake_file = tmp_path / "scheduler_wake"
    clock = airflow_scheduler_wake.WakeableTime(time, str(wake_file), poll_seconds=0.02)
    started = time.monotonic()
    clock.sleep(0.5)
    assert time.monotonic() - started >= 0.45  # nothing touched it: the whole sleep
    wake_file.touch()  # a trigger while the scheduler was busy with its loop...
    started = time.monotonic()
    clock.sleep(60)
    assert time.monotonic() - started < 30  # ...ends the next sleep at once
    started = time.monotonic()
    clock.sleep(60)
    assert time.monotonic() - started < 30  # just after a wake: on to the next whole second only
    assert clock.monotonic() > 0  # the rest of the time module is the real one


def test_the_scheduler_applies_the_wakeable_sleep_only_in_the_scheduler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(airflow_scheduler_wake.WAKE_FILE_VAR, "/nonexistent/scheduler_wake")
    monkeypatch.delitem(sys.modules, "airflow.jobs.scheduler_job_runner", raising=False)
    assert airflow_scheduler_wake.install_in_scheduler() is False  # a backfill, say: no scheduler module
    from airflow.jobs import scheduler_job_runner

    monkeypatch.setattr(scheduler_job_runner, "time", time)
    assert airflow_scheduler_wake.install_in_scheduler() is True
    assert isinstance(scheduler_job_runner.time, airflow_scheduler_wake.WakeableTime)
    assert "time.sleep(min(self._scheduler_idle_sleep_time" in inspect.getsource(scheduler_job_runner)


@pytest.mark.stage
def test_proxied_state_changes_in_a_row_each_reach_airflow_by_a_requested_parse(
    running: services.Services,
) -> None:
    wb = tutorial_lib.Workbench(running.workspace, running.airflow, running.dagster, show=False)
    wb.start_stage("migrate")
    for changes in ({"build_dbt_models": True}, {"build_dbt_models": False}, {"export_customers": True}):
        started = time.monotonic()
        assert all(wb.set_proxied(changes)[task] is proxied for task, proxied in changes.items())
        # Well under the periodic parse (a woken scheduler parses again at once, and Airflow stores a DAG
        # parsed right after the previous store: it skipped that store, and the change waited a minute).
        assert time.monotonic() - started < services.AIRFLOW_PARSE_INTERVAL / 2, changes


def test_a_tuning_named_off_runs_stock_and_the_others_stay_live(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(tuning.SETTING, "-airflow_webserver_forked, -dagster_companions_forked")
    states = tuning.report()
    assert states.pop("airflow_webserver_forked") == states.pop("dagster_companions_forked")
    assert "names it off" in tuning.state("airflow_webserver_forked")
    assert set(states.values()) == {"live"}
    assert not tuning.airflow_webserver_forked() and not tuning.dagster_companions_forked()


def test_the_monitoring_sensor_is_due_when_a_dag_run_ended_since_its_last_tick(tmp_path: Path) -> None:
    # In a process with the Dagster start-up hooks (they change the process they load in), on a stand-in of
    # Dagster's sensor module: the stock rule says "not yet" every time, the elapsed time is given.
    probe = """
import os, sys, time, types
import sitecustomize
wake = os.environ["AIRLIFT_TUTORIAL_WAKE_FILE"]
daemon = types.SimpleNamespace(is_under_min_interval=lambda *a: True, get_elapsed=lambda state: state)
sitecustomize._quiet_airlift_sensor(daemon)
monitoring = types.SimpleNamespace(name="airflow__airflow_monitoring_job_sensor")
other = types.SimpleNamespace(name="some_other_sensor")
due = lambda elapsed, sensor=monitoring: not daemon.is_under_min_interval(elapsed, sensor)
open(wake, "w").close(); os.utime(wake, (time.time() - 2,) * 2)  # a DAG run ended 2 s ago
print(due(20), due(1), due(5), due(20, other))
os.utime(wake, (time.time() - 60,) * 2)  # a minute ago
print(due(20))
"""
    env = {**services.dagster_env(Workspace(tmp_path / "ws").ensure()), "PATH": os.environ["PATH"]}
    env["AIRLIFT_TUTORIAL_WAKE_FILE"] = str(tmp_path / "ended")
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    # due after the end; not again within 4 s of its own tick, then again; other sensors and old ends: stock
    assert done.stdout.split() == ["True", "False", "True", "False", "False"], done.stdout + done.stderr


TAIL_PROBE = """
import sys, time, psutil
from dagster._core.execution import compute_logs
with compute_logs.execute_posix_tail(sys.argv[1], sys.stdout) as pids:
    print(sorted(psutil.Process(pid).name() for pid in pids), pids[0], flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("live", [True, False])
def test_a_runs_output_tail_is_watched_by_a_shell_and_still_ends_when_the_run_is_killed(
    tmp_path: Path, live: bool
) -> None:
    from tutorial_lib.services.command_lines import DAGSTER_STARTUP

    env = {**os.environ, "PYTHONPATH": str(DAGSTER_STARTUP)}
    env[tuning.SETTING] = "on" if live else "-dagster_shell_log_watcher"
    (tmp_path / "out.log").write_text("")
    probe = subprocess.Popen(
        [sys.executable, "-c", TAIL_PROBE, str(tmp_path / "out.log")],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        names, tail_pid = probe.stdout.readline().rsplit(" ", 1)
        # Stock: a Python interpreter watches the tail (about 9 MB); live: a shell loop (about 1 MB).
        assert names == ("['sh', 'tail']" if live else "['python', 'tail']"), names
    finally:
        probe.kill()  # the run dies without cleaning up
        probe.wait()
    tail = psutil.Process(int(tail_pid))
    wait_until(
        lambda: not tail.is_running() or tail.status() == psutil.STATUS_ZOMBIE,
        what="the tail to end",
        timeout=10,
        show=False,
    )


DBT_PARSE_PROBE = """
import sys, tempfile, psutil
from tutorial_lib import dbt_locks
print("applied" if dbt_locks.apply() else "stock")
from customers_pipeline import logic, paths
target = tempfile.mkdtemp(dir=sys.argv[1])
logic.run_dbt_parse(paths.DBT_PROJECT_DIR, target, target + "/logs")
print(sum("resource_tracker" in " ".join(child.cmdline()) for child in psutil.Process().children()))
"""


@pytest.mark.parametrize("live", [True, False])
def test_dbt_runs_without_a_resource_tracker_process_once_its_locks_come_from_a_fork_context(
    tmp_path: Path, live: bool
) -> None:
    env = {**os.environ, "AIRLIFT_TUTORIAL_HOME": str(tmp_path / "ws")}
    env[tuning.SETTING] = "on" if live else "-dbt_locks_without_tracker"
    probe = subprocess.run(
        [sys.executable, "-c", DBT_PARSE_PROBE, str(tmp_path)], env=env, capture_output=True, text=True
    )
    # Stock, dbt's "spawn" locks start multiprocessing's resource tracker: an interpreter of 6-10 MB.
    assert probe.stdout.split() == (["applied", "0"] if live else ["stock", "1"]), probe.stderr[-2000:]


@pytest.mark.parametrize(("live", "method"), [(True, "fork"), (False, "spawn")])
def test_dagster_processes_and_their_dbt_get_dbts_locks_from_a_fork_context(live: bool, method: str) -> None:
    from tutorial_lib.services.command_lines import DAGSTER_STARTUP

    env = {**os.environ, "PYTHONPATH": str(DAGSTER_STARTUP)}
    env[tuning.SETTING] = "on" if live else "-dbt_locks_without_tracker"
    probe = "from dbt.mp_context import get_mp_context; print(get_mp_context().get_start_method())"
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert done.stdout.strip() == method, done.stderr[-2000:]
