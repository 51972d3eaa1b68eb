"""What each service runs with: the environment of Airflow's and Dagster's processes, the workspace's login,
and the files that wake a sleeping scheduler or sensor."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from tutorial_lib import env_vars, names, tuning
from tutorial_lib.services.command_lines import AIRFLOW_PLUGINS, BIN, DAGSTER_STARTUP, services_tmp_dir
from tutorial_lib.workspace import Workspace

# Seconds between two parses of an unchanged DAG file.
AIRFLOW_PARSE_INTERVAL = 60
# The scheduler's idle sleep (its `scheduler_idle_sleep_time`) when the web server can wake it; 1 s otherwise.
SCHEDULER_QUIET_SECONDS = 5.0

log = logging.getLogger(__name__)


def wake_file(ws: Workspace) -> Path:
    """The file Airflow touches when a DAG run ends, which wakes Dagster's airlift sensor."""
    return ws.airflow_home / "dag_run_ended"


def scheduler_wake_file(ws: Workspace) -> Path:
    """The file Airflow's web server touches after a request that changes something, to wake the scheduler."""
    return ws.airflow_home / "scheduler_wake"


def wake_scheduler(env: Mapping[str, str]) -> None:
    """Wake the scheduler of the Airflow whose environment this is: touch its wake file (if it has one)."""
    path = env.get(env_vars.SCHEDULER_WAKE_FILE)
    if path:
        try:
            Path(path).touch()
        except OSError:
            log.warning("Could not touch %s; the scheduler notices the change within its idle sleep.", path)


# Not for the services: Airflow's and Dagster's own settings are the workbench's to set, and a hub's tokens
# would let a learner's services act as the learner on the hub.
WITHHELD_PREFIXES = ("AIRFLOW_", "AIRFLOW__", "DAGSTER_", "JUPYTERHUB_", "JPY_")


def _base_env(ws: Workspace) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(WITHHELD_PREFIXES)}
    # Temporary files (Airflow's web server cache, multiprocessing's pymp-* folders) stay in the workspace,
    # away from other users' files in the shared /tmp.
    tmp = str(services_tmp_dir(ws))
    env.update(
        **{env_vars.HOME: str(ws.home)},
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
        NO_COLOR="1",
        TMPDIR=tmp,
        TMP=tmp,
        TEMP=tmp,
    )
    if tuning.use("dagster_quiet_sensor"):
        env[env_vars.WAKE_FILE] = str(wake_file(ws))
    return env


def _password_file(ws: Workspace) -> Path:
    """The file holding the workspace's password for Airflow and Dagster (generated at first use)."""
    ws.secret(names.PASSWORD_SECRET)
    return ws.secrets_dir / names.PASSWORD_SECRET


def login(ws: Workspace) -> tuple[str, str]:
    """The workspace's user and password, which both Airflow and Dagster ask for."""
    return names.LOGIN_USER, ws.secret(names.PASSWORD_SECRET)


def _login_env(ws: Workspace) -> dict[str, str]:
    """Where a service's own process finds the workspace's login: the user, and the password's file."""
    return {env_vars.LOGIN_USER: names.LOGIN_USER, env_vars.LOGIN_PASSWORD_FILE: str(_password_file(ws))}


def airflow_env(ws: Workspace, *, port: int, dagster_url: str, path_prefix: str = "") -> dict[str, str]:
    """The environment Airflow runs in: everything inside the workspace, tuned for quick feedback."""
    env = _base_env(ws)
    env.update(
        AIRFLOW_HOME=str(ws.airflow_home),
        AIRFLOW__CORE__DAGS_FOLDER=str(ws.dags_dir),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__EXECUTOR=(
            "tutorial_lib.in_airflow.executor.ForkingSequentialExecutor"
            if tuning.use("airflow_forking_executor")
            else "SequentialExecutor"
        ),
        **(
            {"AIRFLOW__CORE__TASK_RUNNER": "tutorial_lib.in_airflow.task_runner.InProcessTaskRunner"}
            if tuning.use("airflow_in_process_task")
            else {}
        ),
        # Used only by the stock `airflow webserver` (command_lines.airflow_command): one gunicorn worker.
        AIRFLOW__WEBSERVER__WORKERS="1",
        AIRFLOW__CORE__DEFAULT_TASK_RETRIES="0",
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{ws.airflow_home / 'airflow.db'}",
        AIRFLOW__API__AUTH_BACKENDS="airflow.api.auth.backend.basic_auth",
        AIRFLOW__WEBSERVER__WEB_SERVER_HOST="127.0.0.1",
        AIRFLOW__WEBSERVER__WEB_SERVER_PORT=str(port),
        AIRFLOW__WEBSERVER__BASE_URL=f"http://127.0.0.1:{port}{path_prefix}",
        AIRFLOW__WEBSERVER__SECRET_KEY=ws.secret("airflow_webserver_secret_key"),
        AIRFLOW__WEBSERVER__EXPOSE_CONFIG="False",
        # The workbench triggers every run itself, so the scheduler creates no @daily runs on its own.
        AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False",
        # New and removed DAG files are found within 5 s, changed ones parsed at once (modified-time order);
        # an unchanged file is parsed again after a minute, or when the workbench asks (request_parse).
        AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL="5",
        AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL=str(AIRFLOW_PARSE_INTERVAL),
        AIRFLOW__SCHEDULER__PARSING_PROCESSES="1",
        AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="5",
        AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC="1",
        AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME="1",  # longer when the web server can wake it (below)
        # A parse the workbench asks for right after another one must still store the DAG it found (Airflow
        # skips storing a changed DAG parsed within this many seconds of the last store).
        AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL="0",
        AIRFLOW__CORE__MIN_SERIALIZED_DAG_FETCH_INTERVAL="1",
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(ws.airflow_home / "logs"),
        # Plugins: the listener that tells Dagster's daemon a DAG run ended (dagster_quiet_sensor tuning).
        AIRFLOW__CORE__PLUGINS_FOLDER=str(AIRFLOW_PLUGINS),
        # The proxy operators (customers_pipeline/operators.py) launch runs in Dagster, which wants the login.
        **{
            env_vars.DAGSTER_URL: dagster_url,
            env_vars.DAGSTER_USERNAME: names.LOGIN_USER,
            env_vars.DAGSTER_PASSWORD: ws.secret(names.PASSWORD_SECRET),
        },
        **_login_env(ws),  # for the web server, which creates the workspace's Airflow user
    )
    woken = tuning.use("airflow_forking_executor") and tuning.use("airflow_one_process_webserver")
    if woken and tuning.use("airflow_scheduler_wake"):
        # in_airflow/scheduler_wake.py: the web server touches this file, the scheduler's sleep ends at once.
        env[env_vars.SCHEDULER_WAKE_FILE] = str(scheduler_wake_file(ws))
        env["AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME"] = str(SCHEDULER_QUIET_SECONDS)
    return env


def dagster_env(ws: Workspace) -> dict[str, str]:
    """The environment of Dagster's processes: the login in front of its webserver, the start-up tunings."""
    env = _base_env(ws)
    env.update(DAGSTER_HOME=str(ws.dagster_home), **_login_env(ws))
    # What `dagster dev` tells its processes: they serve a local development instance.
    env["DAGSTER_IS_DEV_CLI"] = "1"
    ws.secret("dagster_session_key")
    env[env_vars.DAGSTER_SESSION_KEY_FILE] = str(ws.secrets_dir / "dagster_session_key")
    # sitecustomize.py there puts the webserver behind the login (always: it is no tuning) and applies the
    # Dagster tunings that tuning.use allows, in every Dagster process.
    env["PYTHONPATH"] = str(DAGSTER_STARTUP)
    if tuning.use("dagster_fork_server_runs"):
        # Runs forked from the fork server must not restart gRPC's threads (they never use gRPC).
        env["GRPC_ENABLE_FORK_SUPPORT"] = "false"
    return env
