"""Workspace and repository paths used by the customers pipeline."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV_VAR = "AIRLIFT_TUTORIAL_HOME"

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
SOURCE_RAW_CUSTOMERS_CSV = REPO_ROOT / "airflow_dags" / "data" / "raw_customers.csv"


def home() -> Path:
    """Return the tutorial workspace directory named by AIRLIFT_TUTORIAL_HOME."""
    value = os.environ.get(HOME_ENV_VAR, "").strip()
    if not value:
        raise RuntimeError(
            f"{HOME_ENV_VAR} is not set. Export it to the tutorial workspace directory, "
            f"e.g. `export {HOME_ENV_VAR}=$HOME/airlift-tutorial-home`, and try again."
        )
    return Path(value).expanduser().resolve()


def duckdb_path() -> Path:
    """Return the DuckDB warehouse file shared by the load task, dbt and the export task."""
    return home() / "data" / "jaffle_shop.duckdb"


def raw_customers_csv() -> Path:
    """Return the workspace copy of the raw customers CSV."""
    return home() / "data" / "raw_customers.csv"


def customers_csv() -> Path:
    """Return the CSV the export task writes the customers table to."""
    return home() / "data" / "customers.csv"


def dbt_target_path() -> Path:
    """Return the directory dbt writes its artefacts (manifest, run results) to."""
    return home() / "dbt" / "target"


def dbt_log_path() -> Path:
    """Return the directory dbt writes its log file to."""
    return home() / "dbt" / "logs"
