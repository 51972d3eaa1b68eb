"""Start-up tuning for the workspace's Dagster processes (this folder is on their PYTHONPATH only).

Dagster exposes neither setting below, so each is applied the moment Dagster imports the module that
holds it:
- The code server forks every run from itself instead of spawning a fresh interpreter. The fork starts
  with the definitions already imported, which saves 10-15 s per run on a small machine.
- The sensor daemon looks for due sensors every second instead of every 5 s, so a finished Airflow run
  reaches Dagster about 2 s sooner (the airlift sensor itself runs every second).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

SENSOR_LOOP_SECONDS = 1.0
PRELOAD_FOR_RUNS = (
    "dbt.adapters.factory",
    "dbt.config.runtime",
    "dbt.flags",
    "dbt.adapters.duckdb",
    "dbt.cli.main",
)


def _fork_runs(module: ModuleType) -> None:
    import multiprocessing

    server_class = module.DagsterApiServer
    original_init = server_class.__init__

    def __init__(self, *args, **kwargs) -> None:
        original_init(self, *args, **kwargs)
        self._mp_ctx = multiprocessing.get_context("fork")

    server_class.__init__ = __init__
    # Each dbt run makes dagster-dbt load dbt's config and adapter code; import it once, here, so that
    # every forked run starts with it loaded.
    for name in PRELOAD_FOR_RUNS:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def _faster_sensor_loop(module: ModuleType) -> None:
    module.MIN_INTERVAL_LOOP_TIME = SENSOR_LOOP_SECONDS


TUNINGS: dict[str, Callable[[ModuleType], None]] = {
    "dagster._grpc.server": _fork_runs,
    "dagster._daemon.sensor": _faster_sensor_loop,
}


class _TuningFinder(importlib.abc.MetaPathFinder):
    """Finds the tuned modules as usual, then applies the tuning right after each one runs."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        tune = TUNINGS.get(fullname)
        if tune is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            tune(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


sys.meta_path.insert(0, _TuningFinder())
