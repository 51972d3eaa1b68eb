"""Every stage notebook on real services: run headless by papermill (the CLI `run`), checked by nbval."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from tutorial_lib import cli, runner, services

REPO = Path(__file__).resolve().parent.parent
STAGES = list(runner.stage_notebooks())
pytestmark = pytest.mark.stage


@pytest.fixture(scope="module")
def papermill_results(stage_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """All stages run once, in order, by `airlift-tutorial run` on the shared workspace."""
    home = services.up(stage_home, show=False).workspace.home
    code = cli.main(["--home", str(home), "run", *STAGES])
    summary = sorted((home / "runs").glob("*/summary.json"))[-1]
    results = {result["stage"]: result for result in json.loads(summary.read_text())}
    results["_exit"] = {"code": code, "folder": str(summary.parent)}
    return results


@pytest.fixture(scope="module")
def nbval_results(stage_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """nbval over all stage notebooks in one pytest process: notebook name -> its failed cells' reports."""
    report = tmp_path_factory.mktemp("nbval") / "junit.xml"
    home = services.up(stage_home, show=False).workspace.home
    env = {
        **os.environ,
        "AIRLIFT_TUTORIAL_HOME": str(home),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    notebooks = [str(path) for path in runner.stage_notebooks().values()]
    subprocess.run(
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
            f"--junitxml={report}",
            *notebooks,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    failures: dict[str, list[str]] = {Path(path).name: [] for path in notebooks}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        name = Path(case.get("file") or case.get("classname", "").replace(".", "/") + ".ipynb").name
        for problem in [*case.iter("failure"), *case.iter("error")]:
            failures.setdefault(name, []).append(f"{case.get('name')}: {(problem.text or '')[-1500:]}")
    return failures


def test_run_executes_every_stage_and_writes_a_summary(papermill_results: dict[str, dict]) -> None:
    folder = Path(papermill_results["_exit"]["folder"])
    assert [path.name for path in sorted(folder.glob("*.ipynb"))] == [
        p.name for p in runner.stage_notebooks().values()
    ]
    assert papermill_results["_exit"]["code"] == 0, {s: r.get("error") for s, r in papermill_results.items()}


@pytest.mark.parametrize("stage", STAGES)
def test_stage_notebook_passes_under_papermill(papermill_results: dict[str, dict], stage: str) -> None:
    result = papermill_results.get(stage)
    assert result is not None, f"{stage} did not run (an earlier stage failed)"
    assert result["status"] == "passed", f"cell [{result['failed_cell']}]: {result['error']}"


@pytest.mark.parametrize("stage", STAGES)
def test_stage_notebook_outputs_match_under_nbval(nbval_results: dict[str, list[str]], stage: str) -> None:
    name = runner.stage_notebooks()[stage].name
    assert nbval_results[name] == [], "\n\n".join(nbval_results[name])
