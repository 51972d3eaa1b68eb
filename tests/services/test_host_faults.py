"""Faults a workshop host sees, injected on real services: a port taken between two runs, a full disk under
a DAG run, a reboot that leaves a stale state file. Each is said in words a learner can act on, and the
next `up` (a notebook's first cell) recovers with nothing of the learner's lost."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psutil
import pytest

import tutorial_lib
from tutorial_lib import services
from tutorial_lib.clients.airflow import DagRunFailed
from tutorial_lib.progress import wait_until
from tutorial_lib.services import processes

pytestmark = pytest.mark.stage


def test_a_port_taken_before_the_service_listens_is_given_up_for_another_free_one(
    running: services.Services, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = running.workspace
    services.stop_service(ws, "airflow")
    with socket.socket() as squatter:  # another program takes the port the workbench is about to choose
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        chosen = iter([taken])
        free_port = processes.free_port
        monkeypatch.setattr(processes, "free_port", lambda: next(chosen, None) or free_port())
        started = time.monotonic()
        again = services.up(ws.home, show=False)
        took = time.monotonic() - started
    note = capsys.readouterr().err
    print(f"port taken: up took {took:.1f} s; said: {note.strip()}")
    assert f"Note: Port {taken}, chosen for Airflow, was taken by another program" in note, note
    assert "Starting it again on another free port." in note
    record = services.service_record(ws, "airflow")
    assert record is not None and record["port"] != taken
    assert again.airflow.list_dags() and again.dagster.location_ready()


@contextmanager
def full_disk_under(folder: Path) -> Iterator[None]:
    """A small tmpfs mounted over `folder`, holding a copy of its files and then filled up: the next write
    that needs room fails with ENOSPC, as on a full disk. The folder is as it was once unmounted."""
    staged = folder.with_name(folder.name + ".staged")
    subprocess.run(["cp", "-a", str(folder), str(staged)], check=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        subprocess.run(["rm", "-rf", str(staged)], check=True)
        pytest.skip(f"mounting a small tmpfs needs root: {mounted.stderr.strip()}")
    try:
        subprocess.run(["cp", "-a", f"{staged}/.", str(folder)], check=True)
        with open(folder / ".filler", "wb", buffering=0) as filler:
            try:
                while True:
                    filler.write(b"\0" * 65536)
            except OSError:
                pass
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)
        subprocess.run(["rm", "-rf", str(staged)], check=True)


def test_a_full_disk_under_a_dag_run_is_said_with_the_fix_and_the_next_run_recovers(
    running: services.Services,
) -> None:
    wb = tutorial_lib.up(running.workspace.home, show=False)
    wb.start_stage("observe")
    raw = wb.workspace.raw_customers_csv.read_bytes()
    with full_disk_under(wb.workspace.raw_customers_csv.parent):
        started = time.monotonic()
        with pytest.raises(DagRunFailed) as failed:
            wb.run_dag(timeout=120)
        took = time.monotonic() - started
    message = str(failed.value)
    print(f"full disk: said after {took:.1f} s: {message}")
    assert "task load_raw_customers: failed" in message and "No space left on device" in message, message
    assert "The disk is full: free some space on it" in message and "Nothing you wrote is lost" in message
    assert wb.workspace.raw_customers_csv.read_bytes() == raw
    assert wb.run_dag(timeout=120).state == "success"  # room again: the next run goes through


def test_after_a_reboot_the_stale_state_is_said_and_up_starts_everything_again_touching_no_one_else(
    running: services.Services, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = running.workspace
    # The power goes: every process of the workspace ends at once, nothing is cleaned up.
    for pid in services.workspace_processes(ws.home):
        with suppress(psutil.Error):
            psutil.Process(pid).kill()
    wait_until(
        lambda: not services.workspace_processes(ws.home), what="the workspace's end", timeout=10, show=False
    )
    # After the reboot, the recorded ids belong to other programs, and the records are from an earlier boot.
    innocent = subprocess.Popen(["sleep", "120"], start_new_session=True)
    try:

        def from_before_the_reboot(state: dict) -> None:
            for record in state["services"].values():
                record.update(pid=innocent.pid, pgid=innocent.pid, create_time=psutil.boot_time() - 600)

        ws.modify_state(from_before_the_reboot)
        capsys.readouterr()
        started = time.monotonic()
        wb = tutorial_lib.up(ws.home, show=False)  # the notebook's first cell
        took = time.monotonic() - started
        note = capsys.readouterr().err
        print(f"reboot: up took {took:.1f} s; said: {note.strip()}")
        assert (
            "Note: Airflow and Dagster of this workspace were not running any more (the machine has " in note
        )
        assert "restarted since): starting again." in note and "are kept" in note
        assert psutil.Process(innocent.pid).status() != psutil.STATUS_ZOMBIE
        for name in ("airflow", "dagster"):
            assert services.service_record(ws, name)["pid"] != innocent.pid
        wb.start_stage("peer")
        assert wb.dagster.location_ready() and wb.airflow.list_dags()
    finally:
        innocent.kill()
        innocent.wait()
