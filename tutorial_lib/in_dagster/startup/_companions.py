"""Dagster's webserver and daemon, forked from the code server instead of started as interpreters of
their own (see `tutorial_lib/forks.py`).

The three processes import the same Dagster. Forked from the code server before it starts a thread or loads
definitions, the webserver and the daemon keep sharing those pages with it: about 60 MB less per workspace
than three interpreters importing Dagster each. `ps -o comm` names them `dagster-webserv` and
`dagster-daemon`. When one stops, the code server stops the rest of the service.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Callable

from tutorial_lib import forks

# companion -> (the module `python -m` runs for it, its command-line module, the process's name)
COMPANIONS = {
    "webserver": ("dagster_webserver", "dagster_webserver.cli", b"dagster-webserv"),
    "daemon": ("dagster._daemon", "dagster._daemon.cli", b"dagster-daemon"),
}
Watched = list[tuple[str, Callable[[], int]]]


def start(companions: dict[str, list[str]]) -> Watched:
    """Start each companion (name -> its arguments after `python -m <module>`); return what `watch` takes
    (called once the code server has done its own forking: a watcher is a thread)."""
    for name in companions:
        importlib.import_module(COMPANIONS[name][1])  # imported before the fork: shared
    fork = forks.can_fork()
    watched: Watched = []
    for name, args in companions.items():
        module, cli, process_name = COMPANIONS[name]
        if fork:
            pid = forks.fork_named(process_name, lambda cli=cli, argv=[module, *args]: _run(cli, argv))
            watched.append((name, forks.waiter(pid)))
        else:  # a thread already runs: forking is unsafe, so a stock interpreter of its own
            watched.append((name, subprocess.Popen([sys.executable, "-m", module, *args]).wait))
    return watched


def _run(cli: str, argv: list[str]) -> None:
    sys.argv = argv
    importlib.import_module(cli).main()


def watch(watched: Watched) -> None:
    """Watch each started companion: when one ends, the whole service ends, this code server last."""
    for name, stopped in watched:
        forks.watch(f"Dagster's {name}", stopped, "stopping the rest of Dagster with it.")
