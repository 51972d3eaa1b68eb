"""The module Dagster's code server loads (`-m tutorial_lib.in_dagster.code_location`): the workspace's
selected definitions. Reloading the code location imports it again."""

from tutorial_lib.in_dagster.loader import load
from tutorial_lib.workspace import Workspace

defs = load(Workspace())  # this process's one workspace: $AIRLIFT_TUTORIAL_HOME, set by the workbench
