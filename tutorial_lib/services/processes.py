"""Start, find and stop the process trees of a workspace's services."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from tutorial_lib import env_vars
from tutorial_lib.errors import LearnerError

OWNER_ENV = env_vars.OWNER


class PortInUseError(LearnerError, RuntimeError):
    """A port asked for explicitly is already taken; the message names another way."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Whether a server could bind 127.0.0.1:port now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def choose_port(requested: int | None, service: str, avoid: Sequence[int] = ()) -> int:
    """The requested port if it is free (else a clear error), or a free one."""
    if requested is None:
        port = free_port()
        while port in avoid:
            port = free_port()
        return port
    if not port_is_free(requested):
        raise PortInUseError(
            f"Port {requested} asked for {service} is already in use on 127.0.0.1. Choose another port, "
            f"or leave the port out and the workbench picks a free one."
        )
    return requested


def spawn(
    argv: Sequence[str], *, env: dict[str, str], log_file: Path, cwd: Path, owner: str
) -> psutil.Process:
    """Start argv in a session of its own, stdin closed, output appended to log_file."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(
            list(argv),
            env={**env, OWNER_ENV: owner},
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return psutil.Process(proc.pid)


def is_alive(pid: int, create_time: float) -> bool:
    """Whether the process pid still runs and is the same one we started (not a reused pid)."""
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and abs(proc.create_time() - create_time) < 1.0
    except psutil.Error:
        return False


def owned_processes(owner: str) -> list[psutil.Process]:
    """Every running process started for this owner (a workspace's services and their children)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.pid == os.getpid() or proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get(OWNER_ENV) == owner:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def session_members(sid: int) -> list[psutil.Process]:
    """Live processes in the session (or process group) that a service was started in.

    Services start in a session of their own; some children move to a process group of their own inside it
    (Airflow's DAG processor), so the session is the wider net.
    """
    members = []
    for proc in psutil.process_iter():
        try:
            if sid in (os.getsid(proc.pid), os.getpgid(proc.pid)) and proc.status() != psutil.STATUS_ZOMBIE:
                members.append(proc)
        except (psutil.Error, ProcessLookupError, PermissionError):
            continue
    return members


def started_before_boot(create_time: float) -> bool:
    """Whether a process was started before the machine last booted: none of it can be running now, and
    its ids may belong to anybody's processes."""
    return create_time < psutil.boot_time()


def _someone_elses(proc: psutil.Process, owner: str) -> bool:
    """Whether a process shows an environment without the owner's mark (the session id was reused). An
    environment that cannot be read, or reads as empty (Airflow's scheduler writes its title over it),
    proves nothing: the process counts as the service's."""
    try:
        environment = proc.environ()
    except psutil.Error:
        return False
    return bool(environment) and environment.get(OWNER_ENV) != owner


def tree(sid: int, owner: str | None = None) -> dict[int, psutil.Process]:
    """A service's processes: its session, every descendant of those (even in new sessions), owned ones.
    With an owner, a session member that shows someone else's environment is left alone."""
    found: dict[int, psutil.Process] = {}
    for proc in session_members(sid):
        if owner and _someone_elses(proc, owner):
            continue
        found[proc.pid] = proc
        try:
            for child in proc.children(recursive=True):
                found[child.pid] = child
        except psutil.Error:
            pass
    if owner:
        for proc in owned_processes(owner):
            found[proc.pid] = proc
    found.pop(os.getpid(), None)
    return found


def stop_tree(pgid: int, *, owner: str | None = None, grace: float = 10.0) -> int:
    """Stop a service's session, all descendants of its members, and (with owner) every owned process.

    SIGTERM first, SIGKILL whatever is left after `grace` seconds. A supervisor may start a replacement
    child while it is being stopped (Dagster's stock code-server proxy restarts its server), so the sweep
    repeats until nothing is found. Returns how many processes were signalled.
    """
    signalled: set[int] = set()
    for sweep in range(5):
        targets = tree(pgid, owner)
        if not targets:
            break
        signalled.update(targets)
        for proc in targets.values():
            try:
                proc.send_signal(signal.SIGTERM)
            except psutil.Error:
                pass
        _, alive = psutil.wait_procs(list(targets.values()), timeout=grace if sweep == 0 else 3)
        # A resource tracker ignores SIGTERM and unlinks its processes' leaked semaphores (/dev/shm) once the
        # last of them is gone: it is killed last, after a moment to do that.
        trackers = [proc for proc in alive if _is_resource_tracker(proc)]
        others = [proc for proc in alive if proc not in trackers]
        _kill(others)
        psutil.wait_procs(others, timeout=5)
        _, trackers = psutil.wait_procs(trackers, timeout=TRACKER_GRACE)
        _kill(trackers)
        psutil.wait_procs(trackers, timeout=5)
        _reap_children()
        time.sleep(0.5)  # let a supervisor that is still dying show any replacement it started
    return len(signalled)


TRACKER_GRACE = 5.0  # seconds a resource tracker gets to clean up once its clients are gone


def _is_resource_tracker(proc: psutil.Process) -> bool:
    """Whether a process is multiprocessing's resource tracker (it owns the semaphores of its clients)."""
    try:
        return any("multiprocessing.resource_tracker" in part for part in proc.cmdline())
    except psutil.Error:
        return False


def _kill(procs: list[psutil.Process]) -> None:
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass


def _reap_children() -> None:
    """Collect exit statuses of our own finished children, so they do not linger as zombies."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def run_checked(
    argv: Sequence[str],
    *,
    env: dict[str, str],
    cwd: Path,
    what: str,
    log_file: Path,
    timeout: float = 300,
    secret: str | None = None,
) -> None:
    """Run a set-up command to completion; on failure raise with the end of its output."""
    started = time.monotonic()
    result = subprocess.run(
        list(argv),
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    with open(log_file, "a") as log:
        shown = " ".join("***" if secret and arg == secret else arg for arg in argv)
        log.write(f"$ {shown}  ({time.monotonic() - started:.1f} s, exit {result.returncode})\n")
        log.write(result.stdout + result.stderr)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"{what} failed (exit {result.returncode}); full output in {log_file}:\n{tail}")
