"""Imported once by the code server's fork server, so that every run forked from it starts warm.

Any failure is left to the run itself, which imports the same modules again and reports the error.
"""

import importlib

for _name in (
    "dagster",
    "dagster_dbt",
    "dagster_airlift.core",
    "dbt.adapters.factory",
    "dbt.config.runtime",
    "dbt.adapters.duckdb",
    "duckdb",
    "tutorial_lib.code_location",
):
    try:
        importlib.import_module(_name)
    except Exception:  # the run reports it (see above)
        pass
