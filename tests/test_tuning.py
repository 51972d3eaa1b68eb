"""The speed tunings: live with the locked versions (a canary that fails if one silently stops working), and
stock behaviour, with one warning, when switched off or facing other versions."""

from __future__ import annotations

import inspect
import logging
import os
import sys
import time
from pathlib import Path

import psutil
import pytest

import tutorial_lib
from tutorial_lib import airflow_webserver, services, tuning
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
    # airflow_login_stat_throttle wraps the security manager's method every login goes through.
    from airflow.providers.fab.auth_manager.security_manager.override import FabAirflowSecurityManagerOverride

    assert "update_user_auth_stat(user" in inspect.getsource(FabAirflowSecurityManagerOverride.auth_user_db)
    assert "commands_to_run" in inspect.getsource(SequentialExecutor)
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

    with ws.log_file("airflow").open() as log:
        log.seek(log_size)
        assert "Executing command in a fork" in log.read()  # airflow_forking_executor
    airflow = commands("airflow")
    assert any("tutorial_lib.airflow_webserver" in c for c in airflow)  # airflow_one_process_webserver
    assert not any("gunicorn" in c for c in airflow), airflow
    # dagster_fork_server_runs: the fork server runs fork from is a fork of the code server (same command).
    code_server = f"{sys.executable} -m dagster api grpc "
    servers = sorted({c for c in commands("dagster") if c.startswith(code_server)})
    assert len(servers) == 1, commands("dagster")
    server = psutil.Process(_pid_of(ws, servers[0]))
    assert [" ".join(child.cmdline()) for child in server.children()].count(servers[0]) == 1
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
