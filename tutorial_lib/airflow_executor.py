"""An Airflow executor for the workbench: one task at a time (safe on SQLite), each forked from the scheduler.

Airflow's SequentialExecutor starts every task as a new `airflow tasks run` interpreter, which spends seconds
importing Airflow, dbt and the DAG's modules before the task's own work starts. This executor forks the
scheduler instead, where those modules are already imported, and then runs the same CLI command in the child,
as Airflow's LocalExecutor does when `execute_tasks_new_python_interpreter` is off.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal

from airflow.executors.sequential_executor import SequentialExecutor

# Imported once in the scheduler so that every forked task starts with them loaded.
PRELOADED_MODULES = ("dagster_airlift.in_airflow", "customers_pipeline.operators", "dbt.cli.main", "duckdb")

log = logging.getLogger(__name__)


class ForkingSequentialExecutor(SequentialExecutor):
    """SequentialExecutor whose tasks are forked from the scheduler, not started as new interpreters."""

    def start(self) -> None:
        """Import the modules tasks need, once, before the first fork."""
        super().start()
        for name in PRELOADED_MODULES:
            try:
                importlib.import_module(name)
            except Exception as exc:  # a task will report the real import error itself
                log.warning("Could not preload %s: %s", name, exc)

    def sync(self) -> None:
        """Run each queued task command in a forked child and wait for it."""
        for key, command in self.commands_to_run:
            self.log.info("Executing command in a fork: %s", command)
            if _run_in_fork(command) == 0:
                self.success(key)
            else:
                self.fail(key)
                self.log.error("Task command failed: %s", command)
        self.commands_to_run = []


def _run_in_fork(command: list[str]) -> int:
    """Fork, run an `airflow tasks run ...` command in the child, return the child's exit status."""
    pid = os.fork()
    if pid:
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)
    code = 1
    try:
        from airflow import settings
        from airflow.cli.cli_parser import get_parser

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR2):
            signal.signal(sig, signal.SIG_DFL)
        # The child must not reuse the scheduler's database connections.
        settings.engine.dispose(close=False)
        args = get_parser().parse_args(command[1:])
        args.shut_down_logging = False
        args.func(args)
        code = 0
    except BaseException:  # the child must never return into the scheduler's loop
        log.exception("Task command failed in the fork: %s", command)
    finally:
        logging.shutdown()
        os._exit(code)
    return code
