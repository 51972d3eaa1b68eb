"""Shared fixtures: one real workspace with Airflow and Dagster for all stage tests of a session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tutorial_lib import jupyter_proxy, services

os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")


# The stage tests' workspace serves its UIs under jupyter-server-proxy's paths, as on a JupyterHub, so every
# stage test also proves the workbench on prefixed URLs; the notebook tests run with direct URLs.
PROXY_BASE = "/user/learner/"


@pytest.fixture(scope="session")
def stage_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A workspace folder whose services are stopped (and checked gone) when the session ends."""
    home = Path(os.environ.get("AIRLIFT_TUTORIAL_TEST_HOME") or tmp_path_factory.mktemp("workspace"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(jupyter_proxy.SETTING, PROXY_BASE)
        yield home
    services.down(home)
    left = services.workspace_processes(home)
    assert left == [], f"processes of the test workspace survived `down`: {left}"


@pytest.fixture
def running(stage_home: Path) -> services.Services:
    """The test workspace with Airflow and Dagster up: started at first use, reused (or restarted if a
    stage stopped one, as decommission stops Airflow) after."""
    return services.up(stage_home, show=False)
