"""The speed tunings: live with the locked versions (a canary that fails if one silently stops working), and
stock behaviour, with one warning, when switched off or facing other versions."""

from __future__ import annotations

import inspect
import logging
import statistics
from pathlib import Path

import psutil
import pytest

import tutorial_lib
from tutorial_lib import services, tuning
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
    from dagster._daemon import sensor
    from dagster._grpc import server

    assert "self._mp_ctx" in inspect.getsource(server.DagsterApiServer.__init__)
    assert isinstance(sensor.MIN_INTERVAL_LOOP_TIME, int | float)
    assert "commands_to_run" in inspect.getsource(SequentialExecutor)
    assert callable(app.cached_app)


@pytest.mark.stage
def test_each_tuning_is_live_in_running_services(running: services.Services) -> None:
    wb = tutorial_lib.Workbench(running.workspace, running.airflow, running.dagster, show=False)
    ws = wb.workspace
    wb.start_stage("peer")
    log_size = ws.log_file("airflow").stat().st_size
    wb.run_dag()

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
    assert any("forkserver" in c for c in commands("dagster"))  # dagster_fork_server_runs
    ticks = sorted(t["timestamp"] for t in wb.dagster.sensor_ticks(tutorial_lib.SENSOR_NAME, limit=12))
    gaps = [later - earlier for earlier, later in zip(ticks, ticks[1:], strict=False)]
    assert gaps and statistics.median(gaps) < 3, gaps  # dagster_sensor_loop: stock is 5 s or more
