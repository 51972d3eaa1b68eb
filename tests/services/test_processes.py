"""Process helpers: ports, process trees (including children that leave the session), log tails."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tutorial_lib.services import processes

# A parent that starts a child in a session of its own (as Airflow's task runner does) and one that stays.
TREE = """
import os, subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
time.sleep(300)
"""


def test_choose_port_refuses_an_occupied_port_with_a_fix() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert not processes.port_is_free(port)
        with pytest.raises(
            processes.PortInUseError,
            match=rf"Port {port} asked for Airflow is already in use.*"
            "leave the port out",
        ):
            processes.choose_port(port, "Airflow")


def test_choose_port_without_request_returns_a_free_port_not_in_avoid() -> None:
    first = processes.choose_port(None, "Dagster")
    second = processes.choose_port(None, "Airflow", avoid=[first])
    assert second != first
    assert processes.port_is_free(first) and processes.port_is_free(second)


def test_stop_tree_stops_children_that_started_their_own_session(tmp_path: Path) -> None:
    proc = processes.spawn(
        [sys.executable, "-c", TREE],
        env=dict(os.environ),
        log_file=tmp_path / "t.log",
        cwd=tmp_path,
        owner="test-owner",
    )
    deadline = time.monotonic() + 20
    while len(proc.children(recursive=True)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    members = processes.tree(proc.pid, "test-owner")
    assert len(members) == 3
    assert os.getsid(proc.pid) == proc.pid  # the service got a session of its own
    stopped = processes.stop_tree(proc.pid, owner="test-owner", grace=5)
    assert stopped == 3
    assert not any(
        psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in members
    )
    assert processes.owned_processes("test-owner") == []


def test_is_alive_rejects_a_reused_pid() -> None:
    me = psutil.Process()
    assert processes.is_alive(me.pid, me.create_time())
    assert not processes.is_alive(me.pid, me.create_time() - 100)


def test_run_checked_names_the_step_and_hides_the_secret(tmp_path: Path) -> None:
    log = tmp_path / "setup.log"
    with pytest.raises(RuntimeError, match="(?s)creating the user failed \\(exit 3\\).*boom"):
        processes.run_checked(
            [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)", "s3cret"],
            env=dict(os.environ),
            cwd=tmp_path,
            what="creating the user",
            log_file=log,
            secret="s3cret",
        )
    assert "s3cret" not in log.read_text()
    assert "***" in log.read_text()


# Like Dagster's code server: a multiprocessing Lock from the forkserver context (a named semaphore in
# /dev/shm, registered with a resource tracker), and SIGTERM ignored by it and by the forkserver it started.
SEMAPHORE_HOLDER = """
import multiprocessing, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
context = multiprocessing.get_context("forkserver")
lock = context.Lock()
child = context.Process(target=time.sleep, args=(0,))
child.start()
child.join()
print(lock._semlock.name, flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="POSIX semaphores live in /dev/shm on Linux")
def test_stop_tree_lets_the_resource_tracker_unlink_the_semaphores_it_owns(tmp_path: Path) -> None:
    log = tmp_path / "holder.log"
    argv = [sys.executable, "-c", SEMAPHORE_HOLDER]
    proc = processes.spawn(argv, env=dict(os.environ), log_file=log, cwd=tmp_path, owner="sem")
    deadline = time.monotonic() + 30
    while not log.read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.1)
    semaphore = Path("/dev/shm") / f"sem.{log.read_text().split()[0].lstrip('/')}"
    assert semaphore.exists()
    processes.stop_tree(proc.pid, owner="sem", grace=1)
    assert not semaphore.exists(), "a killed resource tracker left its semaphore behind"


@pytest.mark.parametrize("when", ["pid reused since", "from before the last boot"])
def test_a_stale_record_whose_ids_now_belong_to_someone_else_stops_nothing(tmp_path: Path, when: str) -> None:
    from tutorial_lib import services
    from tutorial_lib.services import lifecycle
    from tutorial_lib.workspace import Workspace

    ws = Workspace(tmp_path / "ws").ensure()
    innocent = subprocess.Popen(["sleep", "60"], start_new_session=True)  # another program, its own session
    try:
        proc = psutil.Process(innocent.pid)
        started = proc.create_time() - 3600 if when == "pid reused since" else psutil.boot_time() - 60
        record = {"pid": innocent.pid, "pgid": innocent.pid, "create_time": started, "port": 1, "url": "x"}
        ws.update_state(services={"airflow": record})
        assert lifecycle.stopped_services(ws) == ["airflow"]
        services.stop_service(ws, "airflow", grace=1)
        assert proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
        assert services.service_record(ws, "airflow") is None
    finally:
        innocent.kill()
        innocent.wait()
