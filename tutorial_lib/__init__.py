"""The airlift tutorial's workbench: what a notebook imports, flat and short.

`import tutorial_lib as tutorial` costs nothing: the names below are imported on first use, so that code
running inside Airflow or Dagster can import one small module of this package (`tutorial_lib.env_vars`,
`tutorial_lib.tuning`) without the notebook's machinery. Where code runs is in its path:

- `notebook/`   the notebook kernel: the Workbench, each stage's proofs, views, links;
- `cli/`        the `airlift-tutorial` command: run, doctor, the notebook runner;
- `services/`   the kernel or the command line: start, reuse and stop Airflow and Dagster;
- `clients/`    whoever talks to a running service: Airflow's REST API, Dagster's GraphQL API;
- `in_airflow/` inside Airflow's processes only; `in_dagster/` inside Dagster's processes only;
- top level:    what every room shares: the stage registry, names, environment variables, the workspace.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> (module, attribute or None for the module itself)
_EXPORTS: dict[str, tuple[str, str | None]] = {
    "up": ("tutorial_lib.notebook.workbench", "up"),
    "Workbench": ("tutorial_lib.notebook.workbench", "Workbench"),
    "MisalignedRunError": ("tutorial_lib.notebook.workbench", "MisalignedRunError"),
    "midnight": ("tutorial_lib.notebook.workbench", "midnight"),
    "seconds_between": ("tutorial_lib.notebook.workbench", "seconds_between"),
    "utc_time": ("tutorial_lib.notebook.workbench", "utc_time"),
    "DAG_ID": ("tutorial_lib.names", "DAG_ID"),
    "SCHEDULE_NAME": ("tutorial_lib.names", "SCHEDULE_NAME"),
    "SENSOR_NAME": ("tutorial_lib.names", "SENSOR_NAME"),
    "wait_until": ("tutorial_lib.progress", "wait_until"),
    "proofs": ("tutorial_lib.notebook.proofs", None),
    "show": ("tutorial_lib.notebook.show", None),
    "ui": ("tutorial_lib.notebook.ui", None),
    "views": ("tutorial_lib.notebook.views", None),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import an exported name on first use."""
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'tutorial_lib' has no attribute {name!r}") from None
    found = importlib.import_module(module)
    value = found if attribute is None else getattr(found, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
