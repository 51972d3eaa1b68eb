"""Imported once by the code server's fork server, so that every run forked from it starts warm.

Libraries only: a run imports the stage definitions (`tutorial_lib.in_dagster.code_location`,
`dagster_defs`) itself, so that it sees them as they are after the latest reload. Any failure is left to
the run itself, which
imports the same modules again and reports the error.
"""

import importlib
import logging

for _name in (
    "dagster",
    "dagster_dbt",
    "dagster_airlift.core",
    "dbt.adapters.factory",
    "dbt.config.runtime",
    "dbt.adapters.duckdb",
    "duckdb",
    "tutorial_lib.services",
    "customers_pipeline.logic",
):
    try:
        importlib.import_module(_name)
    except Exception:  # the run reports it (see above); the fork server's log keeps it too
        logging.getLogger(__name__).debug("Could not preload %s", _name, exc_info=True)
