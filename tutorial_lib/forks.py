"""Processes forked from a warm parent instead of started as interpreters of their own: Airflow's web server
from its scheduler, Dagster's webserver and daemon from its code server. Runs inside the services' processes
(`in_airflow/`, `in_dagster/startup/`).

The parent has imported what the child needs; its objects are frozen out of the garbage collector before the
fork, so that neither process's collections write to (and so copy) the pages they share. The child gets a
name of its own (`ps -o comm`), since its command line is its parent's. The parent watches it, and ends the
whole service (its process group) when it ends, as the service's shell does for its direct children.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable

PR_SET_NAME = 15  # prctl's option: the process's name, at most 15 bytes


def native_threads() -> int:
    """This process's threads, native ones included (a library's own pool is invisible to `threading`)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def can_fork() -> bool:
    """Whether forking is safe here: no other thread runs (a lock it holds would stay held in the child)."""
    return native_threads() == 1


def exit_code(leaving: SystemExit) -> int:
    """The exit status a `SystemExit` stands for, as the interpreter would report it."""
    return leaving.code if isinstance(leaving.code, int) else (0 if leaving.code is None else 1)


def fork_named(name: bytes, run: Callable[[], object]) -> int:
    """Fork a child named `name` that calls `run` and ends with its exit code; return the child's pid."""
    gc.collect()
    gc.freeze()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(PR_SET_NAME, ctypes.c_char_p(name[:15]), 0, 0, 0)
        run()
        code = 0
    except SystemExit as leaving:
        code = exit_code(leaving)
    except BaseException:  # the child's own failure: said on stderr (the service's log)
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def waiter(pid: int) -> Callable[[], int]:
    """A function that waits for the child `pid` to end and returns its exit code (-N: killed by signal N)."""

    def wait() -> int:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:  # reaped elsewhere
            return 1
        return os.waitstatus_to_exitcode(status)

    return wait


def watch(what: str, wait: Callable[[], int], then: str) -> None:
    """From a thread: once `wait()` returns, say that `what` stopped and `then`, and end the service."""

    def watching() -> None:
        code = wait()
        how = f"Killed by signal {-code}" if code < 0 else f"exit code {code}"
        print(f"{what} stopped ({how}); {then}", file=sys.stderr, flush=True)
        with contextlib.suppress(OSError):
            os.killpg(os.getpgrp(), signal.SIGTERM)
        time.sleep(2)
        os._exit(1)

    threading.Thread(target=watching, daemon=True, name=f"watch {what}").start()
