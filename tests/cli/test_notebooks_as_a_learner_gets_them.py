"""The committed notebooks, run as a learner gets them and as nbval's users check them: `pytest --nbval-lax
notebooks/` on a new workspace, every exercise left to the learner. Each check says "not done yet" with its
hint, every cell that needs the learner's code says it is not run yet, and no cell fails."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tutorial_lib import services
from tutorial_lib.cli import notebook_outputs

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.stage
def test_nbval_lax_passes_on_every_committed_notebook_with_the_untouched_starters(tmp_path: Path) -> None:
    home = tmp_path / "learner"
    env = {**os.environ, "AIRLIFT_TUTORIAL_HOME": str(home)}
    started = time.monotonic()
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "-q",
                "--nbval-lax",
                "--nbval-sanitize-with",
                str(notebook_outputs.SANITIZER),
                "notebooks/",
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
        )
    finally:
        services.down(home)
    took = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
    assert services.workspace_processes(home) == []
    project = home / "project" / "dagster_defs"
    assert "# TODO (component)" in (project / "component" / "defs" / "airflow" / "defs.yaml").read_text()
    print(f"pytest --nbval-lax notebooks/ on the starters: {took:.0f} s")
