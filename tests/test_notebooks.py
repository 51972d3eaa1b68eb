"""Every stage notebook on real services, in two workspaces at once: `airlift-tutorial run` (papermill)
in one, with cold services it stops at the end, and nbval in the other."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import pytest

from tutorial_lib import jupyter_proxy, runner, services
from tutorial_lib.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
STAGES = list(runner.stage_notebooks())
pytestmark = pytest.mark.stage


def _nbval_command(report: Path) -> list[str]:
    return [
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
        *(str(path) for path in runner.stage_notebooks().values()),
    ]


class Watcher:
    """Samples, every second, the ports and processes each workspace's services use at that moment."""

    def __init__(self, homes: dict[str, Path]) -> None:
        self.homes = homes
        self.ports: dict[str, set[int]] = {name: set() for name in homes}
        self.shared_pids: set[int] = set()  # pids seen in both workspaces in the same sample
        self.both_up = 0
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self.stop.wait(1.0):
            try:
                self._sample()
            except Exception as exc:  # a state file being rewritten, a process gone: sample again
                self.errors.append(repr(exc))

    def _sample(self) -> None:
        now: dict[str, set[int]] = {}
        for name, home in self.homes.items():
            records = Workspace(home).read_state().get("services", {})
            self.ports[name].update(record["port"] for record in records.values())
            now[name] = set(services.workspace_processes(home)) if len(records) == 2 else set()
        self.shared_pids |= set.intersection(*now.values())
        self.both_up += all(now.values())


def _nbval_report(report: Path) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Per notebook file name: nbval's failure reports, and how many cells it checked."""
    names = [path.name for path in runner.stage_notebooks().values()]
    failures: dict[str, list[str]] = {name: [] for name in names}
    cells = dict.fromkeys(names, 0)
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        where = case.get("file") or case.get("classname", "")  # e.g. "notebooks.03_partitions.ipynb"
        name = next((name for name in names if where.endswith(name)), where)
        cells[name] = cells.get(name, 0) + 1
        for problem in [*case.iter("failure"), *case.iter("error")]:
            failures.setdefault(name, []).append(f"{case.get('name')}: {(problem.text or '')[-1500:]}")
    return failures, cells


@pytest.fixture(scope="module")
def concurrent(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run-all in one workspace and nbval in another, at the same time; what each left behind."""
    homes = {"run": tmp_path_factory.mktemp("run_all"), "nbval": tmp_path_factory.mktemp("nbval")}
    logs = tmp_path_factory.mktemp("logs")
    report = logs / "junit.xml"
    # Direct UI links here (the stage tests cover the jupyter-server-proxy paths).
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1", jupyter_proxy.SETTING: "off"}
    watcher = Watcher(homes)
    watcher.thread.start()
    with (logs / "run.log").open("w") as run_log, (logs / "nbval.log").open("w") as nbval_log:
        run_all = subprocess.Popen(
            [sys.executable, "-m", "tutorial_lib.cli", "--home", str(homes["run"]), "run"],
            cwd=REPO,
            env=env,
            stdout=run_log,
            stderr=subprocess.STDOUT,
        )
        nbval = subprocess.Popen(
            _nbval_command(report),
            cwd=REPO,
            env={**env, "AIRLIFT_TUTORIAL_HOME": str(homes["nbval"])},
            stdout=nbval_log,
            stderr=subprocess.STDOUT,
        )
        try:
            run_code = run_all.wait(timeout=3600)
            nbval.wait(timeout=3600)
        finally:
            watcher.stop.set()
            watcher.thread.join()
            for proc in (run_all, nbval):
                if proc.poll() is None:
                    proc.kill()
    left_by_run = services.workspace_processes(homes["run"])
    services.down(homes["nbval"])
    failures, cells = _nbval_report(report)
    summary = sorted((homes["run"] / "runs").glob("*/summary.json"))
    return {
        "homes": homes,
        "run_code": run_code,
        "run_output": (logs / "run.log").read_text(),
        "results": {r["stage"]: r for r in json.loads(summary[-1].read_text())} if summary else {},
        "run_dir": summary[-1].parent if summary else None,
        "nbval_failures": failures,
        "nbval_cells": cells,
        "left_by_run": left_by_run,
        "left_after_down": services.workspace_processes(homes["nbval"]),
        "watcher": watcher,
    }


def test_run_all_passes_every_stage_and_prints_the_summary_table(concurrent: dict[str, Any]) -> None:
    output = concurrent["run_output"]
    assert concurrent["run_code"] == 0, output[-4000:]
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["stage", "status"])
    rows = [line.split() for line in lines[header + 2 : header + 3 + len(STAGES)]]
    assert [row[:2] for row in rows] == [[s, "passed"] for s in STAGES] + [
        ["total", f"{len(STAGES)}/{len(STAGES)}"]
    ]
    run_dir = concurrent["run_dir"]
    assert sorted(path.name for path in run_dir.glob("*.ipynb")) == sorted(
        path.name for path in runner.stage_notebooks().values()
    )
    assert (run_dir / "summary.md").read_text().count("| passed |") == len(STAGES)


@pytest.mark.parametrize("stage", STAGES)
def test_stage_notebook_passes_under_papermill(concurrent: dict[str, Any], stage: str) -> None:
    result = concurrent["results"].get(stage)
    assert result is not None, f"{stage} did not run (an earlier stage failed)"
    assert result["status"] == "passed", f"cell [{result['failed_cell']}]: {result['error']}"


def test_every_stage_reports_what_it_did_on_the_services(concurrent: dict[str, Any]) -> None:
    activity = {stage: result["activity"] for stage, result in concurrent["results"].items()}
    assert activity["peer"]["dag_runs"] >= 1 and activity["peer"]["checks_passed"] >= 1, activity
    assert activity["observe"]["assets_materialized"] == 10, activity
    assert activity["migrate"]["dagster_runs"] >= 1, activity
    assert activity["decommission"]["dag_runs"] is None, activity  # Airflow is gone by then


@pytest.mark.parametrize("stage", STAGES)
def test_stage_notebook_outputs_match_under_nbval(concurrent: dict[str, Any], stage: str) -> None:
    name = runner.stage_notebooks()[stage].name
    assert concurrent["nbval_cells"][name] > 0, f"nbval checked no cell of {name}"
    failures = concurrent["nbval_failures"][name]
    assert failures == [], "\n\n".join(failures)


def test_nbval_reported_only_the_stage_notebooks(concurrent: dict[str, Any]) -> None:
    assert set(concurrent["nbval_failures"]) == {p.name for p in runner.stage_notebooks().values()}


def test_two_workspaces_ran_at_once_on_their_own_ports_and_processes(concurrent: dict[str, Any]) -> None:
    watcher: Watcher = concurrent["watcher"]
    assert watcher.both_up >= 30, f"the two workspaces were never up together; errors: {watcher.errors[:3]}"
    assert watcher.ports["run"] and watcher.ports["nbval"]
    assert not watcher.ports["run"] & watcher.ports["nbval"], watcher.ports
    assert not watcher.shared_pids, watcher.shared_pids


def test_no_process_is_left_after_run_all_or_after_down(concurrent: dict[str, Any]) -> None:
    assert concurrent["left_by_run"] == [], "run-all left processes of the services it started"
    assert concurrent["left_after_down"] == [], "down left processes of the nbval workspace"


def test_no_notebook_output_or_workspace_file_shows_a_secret(concurrent: dict[str, Any]) -> None:
    home = concurrent["homes"]["run"]
    secrets_dir = Workspace(home).secrets_dir
    secrets = {path.name: path.read_text().strip() for path in secrets_dir.iterdir()}
    assert len(secrets.get("airflow_password", "")) >= 16, secrets.keys()
    files = [path for path in home.rglob("*") if path.is_file() and secrets_dir not in path.parents]
    assert any(path.suffix == ".ipynb" for path in files) and any(path.suffix == ".log" for path in files)
    for where, text in [("run output", concurrent["run_output"])] + [
        (str(path), path.read_bytes().decode(errors="replace")) for path in files
    ]:
        shown = [name for name, value in secrets.items() if value in text]
        assert not shown, f"{', '.join(shown)} written in {where}"
