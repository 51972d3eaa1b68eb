"""The workbench's speed tunings, and its one fix to upstream, reach into private parts of Airflow, Dagster
and dagster-airlift. Each one is applied only
with the package version it was written for, and none with `AIRLIFT_TUTORIAL_TUNING=off`; otherwise the
stock behaviour runs, after one logged warning. `tests/test_tuning.py` fails if a tuning stops working."""

from __future__ import annotations

import logging
import os
from importlib.metadata import PackageNotFoundError, version

from tutorial_lib import env_vars

SETTING = env_vars.TUNING
OFF = ("off", "no", "false", "0")

# tuning -> (the package whose internals it uses, the version prefix it was written and tested for)
TUNINGS: dict[str, tuple[str, str]] = {
    "airflow_forking_executor": ("apache-airflow", "2.11."),  # tutorial_lib/in_airflow/executor.py
    "airflow_in_process_task": ("apache-airflow", "2.11."),  # tutorial_lib/in_airflow/task_runner.py
    "airflow_one_process_webserver": ("apache-airflow", "2.11."),  # tutorial_lib/in_airflow/webserver.py
    "airflow_webserver_forked": ("apache-airflow", "2.11."),  # in_airflow/webserver.py, fork_from_scheduler
    "airflow_login_stat_throttle": ("apache-airflow-providers-fab", "1.5."),  # airflow_webserver.py
    "airflow_scheduler_wake": ("apache-airflow", "2.11."),  # airflow_scheduler_wake.py
    "airflow_warm_dbt": ("dbt-duckdb", "1.11."),  # airflow_executor.py (closes dbt-duckdb's cached database)
    "dbt_locks_without_tracker": ("dbt-core", "1.11."),  # tutorial_lib/dbt_locks.py
    "dagster_fork_server_runs": ("dagster", "1.13."),  # _dagster_startup/sitecustomize.py
    "dagster_sensor_loop": ("dagster", "1.13."),  # _dagster_startup/sitecustomize.py
    "dagster_quiet_sensor": ("dagster", "1.13."),  # _dagster_startup/sitecustomize.py, airflow_plugins/
    "dagster_in_process_reload": ("dagster", "1.13."),  # _dagster_startup/sitecustomize.py
    "dagster_companions_forked": ("dagster", "1.13."),  # in_dagster/startup/_companions.py
    "dagster_companions_in_threads": ("dagster", "1.13."),  # in_dagster/startup/_companions.py
    "dagster_shell_log_watcher": ("dagster", "1.13."),  # in_dagster/startup/sitecustomize.py
    # Not for speed: one Dagster run per Airflow run, however the monitoring job's ranges fall.
    "airlift_mirrored_run_fix": ("dagster-airlift", "0.29."),  # in_dagster/startup/_airlift_mirrored_runs.py
}

log = logging.getLogger(__name__)
_warned: set[str] = set()


def enabled(environ: dict[str, str] | None = None) -> bool:
    """Whether tunings are wanted at all (`AIRLIFT_TUTORIAL_TUNING=off` asks for stock behaviour)."""
    return (environ if environ is not None else os.environ).get(SETTING, "on").strip().lower() not in OFF


def switched_off(environ: dict[str, str] | None = None) -> set[str]:
    """The tunings named off one by one: `AIRLIFT_TUTORIAL_TUNING=-name,-other` (the others stay live), to
    compare a tuning's two sides or to rule one out."""
    setting = (environ if environ is not None else os.environ).get(SETTING, "")
    return {part.strip()[1:] for part in setting.split(",") if part.strip().startswith("-")}


def _installed(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def state(name: str, environ: dict[str, str] | None = None) -> str:
    """`live`, or why the tuning runs stock: switched off, or written for another version."""
    if not enabled(environ):
        return f"stock ({SETTING}=off)"
    if name in switched_off(environ):
        return f"stock ({SETTING} names it off)"
    package, prefix = TUNINGS[name]
    found = _installed(package)
    if found is None or not found.startswith(prefix):
        return f"stock (written for {package} {prefix}x, found {found or 'none'})"
    return "live"


def use(name: str, environ: dict[str, str] | None = None) -> bool:
    """Whether to apply a tuning; the first time one falls back to stock, say so once in the log."""
    current = state(name, environ)
    if current != "live" and enabled(environ) and name not in _warned:
        _warned.add(name)
        log.warning("Speed tuning %s is off, running stock behaviour: %s.", name, current)
    return current == "live"


def report(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Every tuning and its state."""
    return {name: state(name, environ) for name in TUNINGS}


def airflow_webserver_forked() -> bool:
    """Whether Airflow's scheduler forks the web server (the one-process one) instead of the service's shell
    starting it: the shell's command and the scheduler's executor both ask this."""
    return use("airflow_webserver_forked") and use("airflow_one_process_webserver")


def dagster_companions_forked() -> bool:
    """Whether Dagster's code server forks the webserver and the daemon (it must reload in its own process
    too: the stock code-server proxy starts a new server, which would fork them again)."""
    return use("dagster_companions_forked") and use("dagster_in_process_reload")
