"""Variant, the Airlift component: stages 1 and 2 in YAML, loaded from a defs folder as `dg` loads one."""

from pathlib import Path

import dagster as dg

defs = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
