"""Links to the exact UI page a learner should open at a given moment, with one line on what it shows."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import quote, urlencode

from tutorial_lib import env_vars, learner_project, services
from tutorial_lib.clients.dagster import LOCATION_NAME
from tutorial_lib.workspace import Workspace

REPOSITORY = f"__repository__@{LOCATION_NAME}"


def page(workspace: Workspace, service: str, path: str, query: dict[str, str] | None = None) -> str:
    """The browser address of a page of a service's UI (through Jupyter where it proxies them)."""
    base = services.ui_links(workspace).get(service)
    if base is None:
        raise services.ServiceError(
            f"{service} is not running in this workspace: run the stage's first cell."
        )
    return base + path.lstrip("/") + (f"?{urlencode(query)}" if query else "")


def asset_graph(workspace: Workspace) -> str:
    """Dagster's global asset lineage."""
    return page(workspace, "dagster", "asset-groups")


def asset_partitions(workspace: Workspace, key: str) -> str:
    """An asset's partitions view in Dagster."""
    return page(workspace, "dagster", f"assets/{quote(key)}", {"view": "partitions"})


def asset_checks(workspace: Workspace, key: str) -> str:
    """An asset's checks tab in Dagster."""
    return page(workspace, "dagster", f"assets/{quote(key)}", {"view": "checks"})


def sensor(workspace: Workspace, name: str) -> str:
    """A sensor's page in Dagster, with its tick history."""
    return page(workspace, "dagster", f"locations/{REPOSITORY}/sensors/{name}")


def schedule(workspace: Workspace, name: str) -> str:
    """A schedule's page in Dagster."""
    return page(workspace, "dagster", f"locations/{REPOSITORY}/schedules/{name}")


def dagster_run(workspace: Workspace, run_id: str) -> str:
    """A Dagster run's page."""
    return page(workspace, "dagster", f"runs/{run_id}")


def dag_list(workspace: Workspace) -> str:
    """Airflow's list of DAGs, with their tags."""
    return page(workspace, "airflow", "home")


def dag_graph(workspace: Workspace, dag_id: str) -> str:
    """A DAG's task graph in Airflow's grid view."""
    return page(workspace, "airflow", f"dags/{dag_id}/grid", {"tab": "graph"})


def task_log(workspace: Workspace, dag_id: str, run_id: str, task_id: str) -> str:
    """A task instance's log in Airflow's grid view."""
    return page(
        workspace, "airflow", f"dags/{dag_id}/grid", {"dag_run_id": run_id, "task_id": task_id, "tab": "logs"}
    )


def file_link(path: Path) -> object:
    """A link that opens a workspace file in JupyterLab's editor (relative to the notebook), and its path.

    JupyterLab opens a relative link of a Markdown output as a file of its own server, which works when the
    workspace is inside the folder JupyterLab serves (as with `make lab`, or a hub user's home).
    """
    from IPython.display import Markdown

    relative = os.path.relpath(path, Path.cwd())
    return Markdown(f"➜ [open `{path.name}` in JupyterLab]({quote(relative)}) (the file: `{path}`)")


def exercise_files(workspace: Workspace, name: str) -> object:
    """Links that open the learner's files of an exercise (definitions module `name`) in JupyterLab."""
    from IPython.display import Markdown

    links = []
    roots = {learner_project.DEFINITIONS: workspace.definitions_dir, learner_project.DAGS: workspace.dags_dir}
    for tree, root in roots.items():
        for file in tree.files_of(name):
            path = root / file
            relative = os.path.relpath(path, Path.cwd())
            links.append(f"➜ [open `{tree.shown}/{file}` in JupyterLab]({quote(relative)}) (`{path}`)")
    return Markdown("  \n".join(links))


def pointer(url: str, what: str, label: str, workspace: Workspace | None = None) -> object:
    """A Markdown line for the notebook: a link to the page and what to look for there. While the pictures
    of the docs are retaken (`make refresh`), the page's picture is taken too."""
    from IPython.display import Markdown

    from tutorial_lib.notebook import screenshots

    if os.environ.get(env_vars.SCREENSHOTS):
        workspace = Workspace.of(workspace)
        shot = screenshots.wanted(workspace, label)
        if shot is not None:
            try:
                screenshots.take(url, shot, workspace.home)
            except (RuntimeError, OSError) as error:  # the refresh reports the picture missing
                print(error, file=sys.stderr)
    return Markdown(f"➜ [{label}]({url}): {what}")
