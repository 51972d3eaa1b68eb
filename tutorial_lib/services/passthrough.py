"""Upstream's commands (`airflow dags backfill`, `airflow db clean`, `dagster asset wipe`, ...) run against a
workspace: the same programs, with the environment the workspace's services run in."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from tutorial_lib import services
from tutorial_lib.services.environment import wake_scheduler
from tutorial_lib.workspace import REPO_ROOT, Workspace

# dagster-airlift's command (`proxy scaffold`) reads Airflow's DAG folder: it runs in Airflow's environment.
TOOLS = ("airflow", "dagster", "dagster-airlift")


def environment(ws: Workspace, tool: str) -> dict[str, str]:
    """The environment `tool` needs to act on this workspace (its Airflow home and database, Dagster home).
    Python's warnings are off unless PYTHONWARNINGS says otherwise: Airflow 2.11 prints a screenful of
    deprecation notes about its own internals with every command, in which a learner misses the answer."""
    if tool in ("airflow", "dagster-airlift"):
        airflow = services.service_record(ws, "airflow") or {}
        dagster = services.service_record(ws, "dagster") or {}
        env = services.airflow_env(
            ws,
            port=airflow.get("port", 0),
            dagster_url=dagster.get("url", ""),
            path_prefix=airflow.get("path_prefix", ""),
        )
    elif tool == "dagster":
        env = services.dagster_env(ws)
    else:
        raise ValueError(f"Unknown tool {tool!r}; choose one of: {', '.join(TOOLS)}.")
    env.setdefault("PYTHONWARNINGS", "ignore")
    return env


def run(ws: Workspace, tool: str, args: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess:
    """Run `tool args...` on the workspace (the venv's own program) and return the finished process."""
    ws.ensure()
    env = environment(ws, tool)
    # Dagster's commands find the workspace's workspace.yaml (its code location) in their working folder.
    cwd = ws.dagster_home if tool == "dagster" else REPO_ROOT
    done = subprocess.run(
        [str(services.BIN / tool), *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL, **kwargs
    )
    if tool == "airflow":  # it may have triggered a run or cleared a task, which the scheduler should see now
        wake_scheduler(env)
    return done


def shown(tool: str, args: Sequence[str]) -> str:
    """The command as a learner types it in a terminal."""
    return " ".join(["airlift-tutorial", tool, *args])
