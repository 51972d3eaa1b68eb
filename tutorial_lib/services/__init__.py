"""Start, reuse, check and stop one workspace's Airflow and Dagster: from the notebook kernel or the command
line.

`environment` says what each service runs with, `command_lines` what it runs, `lifecycle` when; `processes`
owns process trees and ports, `passthrough` runs upstream's own commands on a workspace.
"""

from tutorial_lib.services.lifecycle import (
    AIRFLOW_PARSE_INTERVAL,
    AIRFLOW_USER,
    BIN,
    DAGSTER_STARTUP,
    ServiceError,
    Services,
    airflow_client,
    airflow_env,
    airflow_when_ready,
    code_server_socket,
    connect,
    dagster_client,
    dagster_commands,
    dagster_env,
    down,
    login,
    scheduler_wake_file,
    service_processes,
    service_record,
    status,
    stop_service,
    ui_links,
    up,
    wait_for_dag_files,
    wake_file,
    workspace_processes,
)

__all__ = [
    "AIRFLOW_PARSE_INTERVAL",
    "AIRFLOW_USER",
    "BIN",
    "DAGSTER_STARTUP",
    "ServiceError",
    "Services",
    "airflow_client",
    "airflow_env",
    "airflow_when_ready",
    "code_server_socket",
    "connect",
    "dagster_client",
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
