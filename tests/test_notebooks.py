"""Stage notebooks run headless against real services: papermill through the CLI, then nbval."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tutorial_lib import cli, services
from tutorial_lib.runner import NOTEBOOKS_DIR

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.stage


def test_peer_notebook_passes_under_papermill_via_the_cli(running: services.Services, capsys) -> None:
    home = running.workspace.home
    assert cli.main(["--home", str(home), "run", "peer"]) == 0
    out = capsys.readouterr().out
    assert "[peer] passed" in out
    summary = sorted((home / "runs").glob("*/summary.json"))[-1]
    results = json.loads(summary.read_text())
    assert [(r["stage"], r["status"]) for r in results] == [("peer", "passed")]
    assert (summary.parent / "01_peer.ipynb").exists()
    # `run` found the services up, so it left them running.
    assert services.status(home)["services"]["airflow"]["running"]


def test_peer_notebook_outputs_match_under_nbval(running: services.Services) -> None:
    env = {
        **os.environ,
        "AIRLIFT_TUTORIAL_HOME": str(running.workspace.home),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval-lax",
            "--nbval-current-env",
            "--nbval-sanitize-with",
            str(REPO / "tests" / "nbval_sanitize.cfg"),
            str(NOTEBOOKS_DIR / "01_peer.ipynb"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
