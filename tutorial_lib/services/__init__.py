"""Start, reuse, check and stop one workspace's Airflow and Dagster: from the notebook kernel or the command
line.

`environment` says what each service runs with, `command_lines` what it runs, `lifecycle` when (`errors` holds
its ServiceError); `processes` owns process trees and ports, `passthrough` runs upstream's own commands on a
workspace. `AIRFLOW_USER` is `names.LOGIN_USER`, the workspace's user for Airflow and Dagster alike.
"""

from tutorial_lib.names import LOGIN_USER as AIRFLOW_USER
from tutorial_lib.services.command_lines import BIN, DAGSTER_STARTUP, code_server_socket, dagster_commands
from tutorial_lib.services.environment import (
    AIRFLOW_PARSE_INTERVAL,
    airflow_env,
    dagster_env,
    login,
    scheduler_wake_file,
    wake_file,
)
from tutorial_lib.services.errors import ServiceError, ServiceStopped
from tutorial_lib.services.lifecycle import (
    Services,
    airflow_client,
    airflow_when_ready,
    connect,
    dagster_client,
    down,
    require_running,
    service_processes,
    service_record,
    status,
    stop_service,
    ui_links,
    up,
    wait_for_dag_files,
    workspace_processes,
)

__all__ = [
    "AIRFLOW_PARSE_INTERVAL",
    "AIRFLOW_USER",
    "BIN",
    "DAGSTER_STARTUP",
    "ServiceError",
    "ServiceStopped",
    "Services",
    "airflow_client",
    "airflow_env",
    "airflow_when_ready",
    "code_server_socket",
    "connect",
    "dagster_client",
    "require_running",
    "dagster_commands",
    "dagster_env",
    "down",
    "login",
    "scheduler_wake_file",
    "service_processes",
    "service_record",
    "status",
    "stop_service",
    "ui_links",
    "up",
    "wait_for_dag_files",
    "wake_file",
    "workspace_processes",
]
