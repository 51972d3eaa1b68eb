"""Process helpers: ports, process trees (including children that leave the session), log tails."""

from __future__ import annotations

import os
import socket
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


def test_tail_returns_the_last_lines_or_says_there_is_no_log(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("\n".join(f"line {i}" for i in range(100)))
    assert processes.tail(log, 2) == "line 98\nline 99"
    assert "no log" in processes.tail(tmp_path / "missing.log")


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
