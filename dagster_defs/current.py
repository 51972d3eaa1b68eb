"""The code location `dagster dev` loads: the definitions the workspace's state file selects."""

import importlib

from customers_pipeline import paths
from tutorial_lib.workspace import Workspace

DEFINITIONS = Workspace(paths.home()).read_state().get("definitions", "peer")
defs = importlib.import_module(f"dagster_defs.{DEFINITIONS}").defs
