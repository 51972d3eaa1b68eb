"""Dagster's webserver and daemon, run inside the code server instead of as interpreters of their own: as
threads of it, or else as forks of it (see `tutorial_lib/forks.py`).

All three import the same Dagster. As threads they share it whole: the webserver and the daemon then cost
about 15 MB more in the code server, against 65 and 52 MB of their own as forks (Python writes reference
counts into the pages a fork shares, so forks keep much of what they touch) and about 90 MB each as
interpreters of their own. Threads start once the code server has forked its fork server (forking is unsafe
once threads run). As forks, they are forked before the code server starts a thread or loads definitions, and
`ps -o comm` names them `dagster-webserv` and `dagster-daemon`. Either way, when one stops, the whole service
stops.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from types import ModuleType

from tutorial_lib import forks


def _run_webserver(cli: ModuleType, args: list[str]) -> None:
    cli.create_dagster_webserver_cli().main(
        args=args, prog_name="dagster-webserver", auto_envvar_prefix="DAGSTER_WEBSERVER"
    )


def _run_daemon(cli: ModuleType, args: list[str]) -> None:
    cli.cli.main(args=args, prog_name="dagster-daemon", obj={})


# companion -> (the module `python -m` runs for it, its command-line module, the process's name, its main)
COMPANIONS: dict[str, tuple[str, str, bytes, Callable[[ModuleType, list[str]], None]]] = {
    "webserver": ("dagster_webserver", "dagster_webserver.cli", b"dagster-webserv", _run_webserver),
    "daemon": ("dagster._daemon", "dagster._daemon.cli", b"dagster-daemon", _run_daemon),
}
Watched = list[tuple[str, Callable[[], int]]]


def start(companions: dict[str, list[str]]) -> Watched:
    """Fork each companion (name -> its arguments after `python -m <module>`); return what `watch` takes
    (called once the code server has done its own forking: a watcher is a thread)."""
    clis = {name: importlib.import_module(COMPANIONS[name][1]) for name in companions}  # shared by the forks
    fork = forks.can_fork()
    watched: Watched = []
    for name, args in companions.items():
        module, _, process_name, run = COMPANIONS[name]
        if fork:
            pid = forks.fork_named(process_name, lambda run=run, cli=clis[name], args=args: run(cli, args))
            watched.append((name, forks.waiter(pid)))
        else:  # a thread already runs: forking is unsafe, so a stock interpreter of its own
            watched.append((name, subprocess.Popen([sys.executable, "-m", module, *args]).wait))
    return watched


def start_threads(companions: dict[str, list[str]]) -> Watched:
    """Run each companion in a thread of this process; return what `watch` takes."""
    watched: Watched = []
    for name, args in companions.items():
        _, cli_module, _, run = COMPANIONS[name]
        cli = importlib.import_module(cli_module)
        _interrupts_from_the_main_thread_only(cli)
        ended: list[int] = []
        thread = threading.Thread(
            target=_until_it_ends, args=(run, cli, args, ended), name=f"dagster {name}", daemon=True
        )
        thread.start()
        watched.append((name, lambda thread=thread, ended=ended: (thread.join(), ended[0])[1]))
    _end_on_sigterm()
    return watched


def _end_on_sigterm() -> None:
    """End the whole process at SIGTERM (`down`, or the service's shell when a part of it stopped). The code
    server alone would stop its gRPC server and wait for its other threads: the companions' workers, which
    never end, so `down` would kill it only after its 10 s of grace. The daemon's writes are SQLite
    transactions, and runs are processes of their own, which get the same signal."""
    if threading.current_thread() is not threading.main_thread():
        return

    def end(signum: int, frame: object) -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # the signal may come in the middle of a write to it
                stream.flush()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, end)


def _until_it_ends(
    run: Callable[[ModuleType, list[str]], None], cli: ModuleType, args: list[str], ended: list[int]
) -> None:
    code = 1
    try:
        run(cli, args)
        code = 0
    except SystemExit as leaving:
        code = forks.exit_code(leaving)
    except BaseException:  # said on stderr (the Dagster log), then the service stops
        import traceback

        traceback.print_exc()
    finally:
        ended.append(code)


def _interrupts_from_the_main_thread_only(cli: ModuleType) -> None:
    """The companions' command lines set Ctrl-C handlers, which only the main thread may: the code server's
    own stand for the whole process."""
    original = getattr(cli, "setup_interrupt_handlers", None)
    if original is None or getattr(original, "_main_thread_only", False):
        return

    def setup_interrupt_handlers() -> None:
        if threading.current_thread() is threading.main_thread():
            original()

    setup_interrupt_handlers._main_thread_only = True  # type: ignore[attr-defined]
    cli.setup_interrupt_handlers = setup_interrupt_handlers


def watch(watched: Watched) -> None:
    """Watch each started companion: when one ends, the whole service ends, this code server last."""
    for name, stopped in watched:
        forks.watch(f"Dagster's {name}", stopped, "stopping the rest of Dagster with it.")
