"""Dagster's webserver and daemon, forked from the code server instead of started as interpreters of
their own.

The three processes import the same Dagster. Forked from the code server before it starts a thread or loads
definitions, with its objects frozen out of the garbage collector, the webserver and the daemon keep sharing
those pages with it: about 150 MB less per workspace than three interpreters importing Dagster each. Each is
named (`dagster-webserv`, `dagster-daemon` in `ps -o comm`) since their command lines are the code server's.

The code server watches both: when one stops, it stops the rest of the service (its process group), as the
service's shell does for the code server itself, so that a dead part is noticed and `up` starts all again.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable

# companion -> (the module `python -m` runs for it, the process name it gets: at most 15 bytes)
COMPANIONS = {
    "webserver": ("dagster_webserver", b"dagster-webserv"),
    "daemon": ("dagster._daemon", b"dagster-daemon"),
}
CLI_MODULES = {"dagster_webserver": "dagster_webserver.cli", "dagster._daemon": "dagster._daemon.cli"}
PR_SET_NAME = 15


Watched = list[tuple[str, Callable[[], int]]]


def start(companions: dict[str, list[str]]) -> Watched:
    """Start each companion (name -> its arguments after `python -m <module>`); return what `watch` takes
    (called once the code server has done its own forking: a watcher is a thread)."""
    for name in companions:
        importlib.import_module(CLI_MODULES[COMPANIONS[name][0]])  # imported before the fork: shared
    can_fork = threading.active_count() == 1 and _native_threads() == 1
    if can_fork:
        gc.collect()
        gc.freeze()
    watched = []
    for name, args in companions.items():
        if can_fork:
            pid = os.fork()
            if pid == 0:
                _run(name, args)  # never returns
            watched.append((name, _waiter(pid)))
        else:  # a thread already runs: forking is unsafe, so a stock interpreter of its own
            proc = subprocess.Popen([sys.executable, "-m", COMPANIONS[name][0], *args])
            watched.append((name, proc.wait))
    return watched


def watch(watched: Watched) -> None:
    """Watch each started companion from a thread of its own (see `_watch`)."""
    for name, stopped in watched:
        threading.Thread(target=_watch, args=(name, stopped), daemon=True, name=f"watch-{name}").start()


def _native_threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _run(name: str, args: list[str]) -> None:
    """The forked child: run the companion's command line in this process, then end it."""
    code = 1
    try:
        _set_process_name(COMPANIONS[name][1])
        module = COMPANIONS[name][0]
        sys.argv = [module, *args]
        importlib.import_module(CLI_MODULES[module]).main()
        code = 0
    except SystemExit as leaving:
        code = leaving.code if isinstance(leaving.code, int) else (0 if leaving.code is None else 1)
    except BaseException:  # the companion's own failure: said on stderr (the service's log)
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _set_process_name(name: bytes) -> None:
    try:
        ctypes.CDLL(None).prctl(PR_SET_NAME, ctypes.c_char_p(name), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _waiter(pid: int) -> Callable[[], int]:
    def wait() -> int:
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)

    return wait


def _watch(name: str, stopped: Callable[[], int]) -> None:
    """Wait for the companion to end; then end the whole service, this code server last."""
    code = stopped()
    how = f"Killed by signal {-code}" if code < 0 else f"exit code {code}"
    print(
        f"Dagster's {name} stopped ({how}); stopping the rest of Dagster with it.",
        file=sys.stderr,
        flush=True,
    )
    try:
        os.killpg(os.getpgrp(), signal.SIGTERM)
    except OSError:
        pass
    time.sleep(2)
    os._exit(1)
