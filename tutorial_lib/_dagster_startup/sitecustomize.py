"""Start-up hooks for the workspace's Dagster processes (this folder is on their PYTHONPATH only).

Each is applied the moment Dagster imports the module it changes. Always, as it is security: the webserver
serves its app behind the workspace's login (`tutorial_lib/dagster_gate.py`); if the place it hooks into is
gone, the webserver does not start. The speed tunings, which Dagster exposes no setting for, apply only as
`tutorial_lib/tuning.py` allows:
- The code server starts runs from a fork server (Python's "forkserver" start method) that has already
  imported Dagster, dbt and the definitions (`_run_preload.py`), instead of spawning a fresh interpreter
  that imports them all again: about 10-15 s less per run on a small machine. The fork server is a
  single-threaded process, so forking it is safe, unlike forking the multi-threaded gRPC server.
- The sensor daemon looks for due sensors every second instead of every 5 s, so a finished Airflow run
  reaches Dagster about 2 s sooner (the airlift sensor itself runs every second).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

# Instructors can trade latency for CPU on a crowded host (each sensor pass costs Airflow and Dagster work).
SENSOR_LOOP_SECONDS = float(os.environ.get("AIRLIFT_TUTORIAL_SENSOR_LOOP_SECONDS") or 1.0)


def _fork_runs(module: ModuleType) -> None:
    import multiprocessing
    import threading

    server_class = getattr(module, "DagsterApiServer", None)
    if server_class is None:
        return
    original_init = server_class.__init__

    def __init__(self, *args, **kwargs) -> None:
        original_init(self, *args, **kwargs)
        if not hasattr(self, "_mp_ctx"):  # the multiprocessing context runs start from, in 1.13
            return
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["_run_preload"])
        self._mp_ctx = context
        # Start the fork server (and its imports) now, not when the first run is launched.
        threading.Thread(target=_start_fork_server, daemon=True).start()

    server_class.__init__ = __init__


def _start_fork_server() -> None:
    from multiprocessing import forkserver

    forkserver.ensure_running()


def _faster_sensor_loop(module: ModuleType) -> None:
    if hasattr(module, "MIN_INTERVAL_LOOP_TIME"):  # the constant the daemon's loop sleeps on, in 1.13
        module.MIN_INTERVAL_LOOP_TIME = SENSOR_LOOP_SECONDS


def _load(name: str) -> ModuleType:
    """A module of tutorial_lib alone, not the package, whose imports every Dagster process would pay for."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        f"_airlift_{name}", Path(__file__).parent.parent / f"{name}.py"
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"tutorial_lib/{name}.py cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _gate_webserver(module: ModuleType) -> None:
    _load("dagster_gate").install(module)  # raises, stopping the webserver, if it cannot


def _selected() -> dict[str, Callable[[ModuleType], None]]:
    """The tunings `tutorial_lib/tuning.py` allows: the Dagster version they were written for, not off."""
    tuning = _load("tuning")
    chosen = {"dagster._grpc.server": ("dagster_fork_server_runs", _fork_runs)}
    chosen["dagster._daemon.sensor"] = ("dagster_sensor_loop", _faster_sensor_loop)
    return {module: apply for module, (name, apply) in chosen.items() if tuning.state(name) == "live"}


# The login is registered first, so that nothing the tunings do can keep it from the webserver.
HOOKS: dict[str, Callable[[ModuleType], None]] = {"dagster_webserver.cli": _gate_webserver}


class _HookFinder(importlib.abc.MetaPathFinder):
    """Finds the hooked modules as usual, then applies the hook right after each one runs."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        hook = HOOKS.get(fullname)
        if hook is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            hook(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


sys.meta_path.insert(0, _HookFinder())
TUNINGS: dict[str, Callable[[ModuleType], None]] = _selected()
HOOKS.update(TUNINGS)
