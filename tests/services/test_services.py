"""Service lifecycle on real Airflow and Dagster: reuse, loopback only, a dead service, a clean down."""

from __future__ import annotations

import os
import signal

import psutil
import pytest

from tutorial_lib import services
from tutorial_lib.workspace import Workspace

pytestmark = pytest.mark.stage


def _leaders(ws: Workspace) -> dict[str, int]:
    return {name: rec["pid"] for name, rec in ws.read_state()["services"].items()}


def test_a_second_up_reuses_the_running_services(running: services.Services) -> None:
    before = _leaders(running.workspace)
    again = services.up(running.workspace.home, show=False)
    assert _leaders(running.workspace) == before
    assert (again.airflow_url, again.dagster_url) == (running.airflow_url, running.dagster_url)
    assert again.airflow.health()["scheduler"]["status"] == "healthy"


def test_every_service_listens_on_loopback_only(running: services.Services) -> None:
    pids = set(services.workspace_processes(running.workspace.home))
    listening = [
        c for c in psutil.net_connections("inet") if c.status == psutil.CONN_LISTEN and c.pid in pids
    ]
    assert listening, "no listening socket found for the workspace's processes"
    assert {c.laddr.ip for c in listening} == {"127.0.0.1"}, listening


def test_the_airflow_user_has_a_password_hash_that_is_cheap_to_check(running: services.Services) -> None:
    import sqlite3

    from tutorial_lib.in_airflow.webserver import PASSWORD_HASH_METHOD

    database = running.workspace.airflow_home / "airflow.db"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        (stored,) = connection.execute(
            "select password from ab_user where username = ?", (services.AIRFLOW_USER,)
        )
    assert stored[0].startswith(PASSWORD_HASH_METHOD + "$"), stored[0].split("$")[0]
    assert running.airflow.dag_ids() is not None  # and the REST API still takes the password


def test_status_reports_both_services_healthy_with_their_urls(running: services.Services) -> None:
    report = services.status(running.workspace.home)
    for name, url in (("airflow", running.airflow_url), ("dagster", running.dagster_url)):
        entry = report["services"][name]
        assert entry["running"] and entry["healthy"], entry
        assert entry["url"] == url and entry["processes"] >= 2


def test_a_dead_service_is_reported_with_the_fix_and_up_restarts_it(running: services.Services) -> None:
    ws = running.workspace
    dead = ws.read_state()["services"]["dagster"]
    os.killpg(dead["pgid"], signal.SIGKILL)
    psutil.wait_procs([psutil.Process(dead["pid"])], timeout=10)
    with pytest.raises(services.ServiceError, match="Dagster has stopped.*airlift-tutorial up"):
        services.connect(ws.home)
    restarted = services.up(ws.home, show=False)
    assert ws.read_state()["services"]["dagster"]["pid"] != dead["pid"]
    assert restarted.dagster.location_ready()


def test_down_leaves_no_process_of_the_workspace(running: services.Services) -> None:
    home = running.workspace.home
    assert len(services.workspace_processes(home)) >= 4
    stopped = services.down(home)
    assert stopped["airflow"] >= 3 and stopped["dagster"] >= 3, stopped
    assert services.workspace_processes(home) == []
    assert not any(entry["running"] for entry in services.status(home)["services"].values())
    services.up(home, show=False)  # later tests of the session find the services up again


def test_every_service_process_has_the_workspace_as_its_temporary_folder(running: services.Services) -> None:
    pids = services.workspace_processes(running.workspace.home)
    # Airflow's scheduler sets its process title over its environment block: it reads as empty.
    environments = [env for pid in pids if (env := psutil.Process(pid).environ())]
    assert len(environments) >= 5
    assert {env.get("TMPDIR") for env in environments} == {str(running.workspace.tmp_dir)}
