"""An Airflow executor for the workbench: one task at a time (safe on SQLite), each forked from the scheduler.

Airflow's SequentialExecutor starts every task as a new `airflow tasks run` interpreter, which spends seconds
importing Airflow, dbt and the DAG's modules before the task's own work starts. This executor forks the
scheduler instead, where those modules are already imported, and then runs the same CLI command in the child,
as Airflow's LocalExecutor does when `execute_tasks_new_python_interpreter` is off. Before the first fork it
also runs the DAG's dbt build once on scratch data (`warm_dbt`), so that each task's build starts warm.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import signal
import time
from pathlib import Path

from airflow.executors.sequential_executor import SequentialExecutor

from tutorial_lib import dbt_locks, forks, tuning
from tutorial_lib.in_airflow import scheduler_wake, webserver

# The raw CSV's columns, as the DAG's load task names them (for warm_dbt's scratch copy).
RAW_CUSTOMER_COLUMNS = ("id", "first_name", "last_name")
# Imported once in the scheduler so that every forked task starts with them loaded.
PRELOADED_MODULES = ("dagster_airlift.in_airflow", "customers_pipeline.operators", "dbt.cli.main", "duckdb")

log = logging.getLogger(__name__)


class ForkingSequentialExecutor(SequentialExecutor):
    """SequentialExecutor whose tasks are forked from the scheduler, not started as new interpreters."""

    def start(self) -> None:
        """Import the modules tasks need, once, before the first fork."""
        super().start()
        scheduler_wake.install_in_scheduler()  # only where the workbench set a wake file
        in_scheduler = scheduler_wake.scheduler_module() is not None  # not a backfill command
        # The web server first, so that it answers while the scheduler warms up; it is watched (from a thread)
        # only once the scheduler's own forks of the warm-up are done.
        web_server = (
            webserver.fork_from_scheduler() if in_scheduler and tuning.airflow_webserver_forked() else 0
        )
        dbt_locks.apply()  # before dbt makes a lock here or in a forked task
        for name in PRELOADED_MODULES:
            try:
                importlib.import_module(name)
            except Exception as exc:  # a task will report the real import error itself
                log.warning("Could not preload %s: %s", name, exc)
        # Only the long-lived scheduler: a backfill command would pay the warm-up for a task or two.
        if tuning.use("airflow_warm_dbt") and in_scheduler:
            warm_dbt(Path(os.environ.get("AIRFLOW_HOME", ".")) / "dbt_warmup")
        if web_server:
            webserver.watch(web_server)
        # What is imported and warmed up by now lives as long as the scheduler: frozen, the garbage collector
        # never walks it again, so the DAG processor forked next (and every task) keeps sharing its pages.
        gc.collect()
        gc.freeze()

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


def warm_dbt(scratch: Path) -> bool:
    """Run the DAG's load and `dbt build` once in this process, on a scratch copy of the raw CSV, so that the
    tasks forked from it find dbt's caches warm: its parse, its serializers and its compiled macros (a dbt
    task took 2.6-2.9 s in a fork of a cold process and 1.0-1.4 s in a fork of a warm one). The workspace's
    own DuckDB file is never opened, and dbt-duckdb closes the scratch one before any fork. False, with a
    warning in the log, if it fails or leaves a thread running."""
    import shutil

    from customers_pipeline import logic, paths

    saved = {name: os.environ.get(name) for name in (paths.HOME_ENV_VAR, "DBT_STATIC_PARSER")}
    started = time.monotonic()
    try:
        (scratch / "data").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(paths.raw_customers_csv(), scratch / "data" / "raw_customers.csv")
        os.environ[paths.HOME_ENV_VAR] = str(scratch)  # the dbt profile's DuckDB path follows it
        # dbt's static parser (a Rust library) keeps native threads once used: a fork would inherit its
        # state without them, and the child's own parse then hangs.
        os.environ["DBT_STATIC_PARSER"] = "false"
        columns = list(RAW_CUSTOMER_COLUMNS)
        logic.load_csv_to_duckdb(
            paths.raw_customers_csv(), paths.duckdb_path(), "raw_data", "raw_customers", columns
        )
        logic.run_dbt_build(paths.DBT_PROJECT_DIR, paths.dbt_target_path(), paths.dbt_log_path())
    except Exception as exc:
        log.warning("Could not warm dbt up (tasks start it cold): %s", exc)
        return False
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    if forks.native_threads() > 1:
        log.warning("Warming dbt up left %d threads running; forking tasks may hang.", forks.native_threads())
        return False
    log.info("Warmed dbt up for forked tasks in %.1f s", time.monotonic() - started)
    return True


def _run_in_fork(command: list[str]) -> int:
    """Fork, run an `airflow tasks run ...` command in the child, return the child's exit status."""
    pid = os.fork()
    if pid:
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)
    # Frozen first thing, the scheduler's objects are left out of the child's garbage collections, which would
    # otherwise write to (and so copy) nearly every page of the heap the two processes share.
    gc.freeze()
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
