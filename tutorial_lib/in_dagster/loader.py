"""What Dagster's code location serves: the definitions module the workspace selected, with Airflow's login.

The definitions in `dagster_defs/` are what a learner writes at work: they read Airflow's address and login
from the environment, as a deployment would provide them. This module is the workbench's side of that: it
waits until the workspace's Airflow is up, puts its address and credentials in the environment, and then
imports the selected definitions module.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

from dagster import Definitions

from tutorial_lib import env_vars, stages
from tutorial_lib.names import LOGIN_USER, PASSWORD_SECRET
from tutorial_lib.services.lifecycle import airflow_when_ready
from tutorial_lib.workspace import Workspace


def selected_definitions(workspace: Workspace) -> stages.DefinitionsModule:
    """The definitions module the workspace selected (the first stage's by default)."""
    name = workspace.read_state().get("definitions") or stages.FIRST.definitions[0]
    return stages.definitions_module(name)


def provide_airflow_environment(workspace: Workspace) -> None:
    """Set the Airflow address and login the definitions read, once Airflow has parsed its DAG files."""
    record = airflow_when_ready(workspace)  # Airflow starts with Dagster: wait until it has the DAGs
    os.environ[env_vars.AIRFLOW_URL] = record["url"]
    os.environ[env_vars.AIRFLOW_USERNAME] = LOGIN_USER
    os.environ[env_vars.AIRFLOW_PASSWORD] = workspace.secret(PASSWORD_SECRET)


def load(workspace: Workspace) -> Definitions:
    """The selected definitions, imported once Airflow's address and login are in the environment."""
    project = workspace.your_dags()
    if project:
        provide_airflow_environment(workspace)
        return load_project(Path(project["project"]))
    selected = selected_definitions(workspace)
    if selected.needs_airflow:
        provide_airflow_environment(workspace)
    _import_from_project(workspace)
    return importlib.import_module(selected.module).defs


def load_project(folder: Path) -> Definitions:
    """A learner's scaffolded project: its `definitions.py`, imported with its folder first on sys.path, as
    `dagster dev -f definitions.py` run in that folder has it."""
    for name in ("definitions", "task_mappings"):
        sys.modules.pop(name, None)  # a reload reads the learner's edits
    if str(folder) in sys.path:
        sys.path.remove(str(folder))
    sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location("definitions", folder / "definitions.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["definitions"] = module
    spec.loader.exec_module(module)
    return module.defs


def _import_from_project(workspace: Workspace) -> None:
    """Make `dagster_defs` resolve to the workspace's project (the learner's files), not the checkout's."""
    project = str(workspace.project_dir)
    if project in sys.path:
        sys.path.remove(project)
    sys.path.insert(0, project)
    loaded = sys.modules.get("dagster_defs")
    if loaded is not None and not str(getattr(loaded, "__file__", "")).startswith(project):
        for name in [name for name in sys.modules if name.split(".")[0] == "dagster_defs"]:
            del sys.modules[name]
    importlib.invalidate_caches()
