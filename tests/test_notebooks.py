"""Every stage notebook on real services, each executed once: two workspaces run at the same time, one the
first stages from a fresh workspace, the other the later stages from another fresh one (so a learner can start
anywhere). Papermill's executed notebooks are then compared with the committed outputs, as nbval would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tutorial_lib import jupyter_proxy, notebook_outputs, runner, services
from tutorial_lib.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
STAGES = list(runner.stage_notebooks())
# Two lanes of about equal length; the second starts in the middle of the tutorial.
LANES = {"first": STAGES[:3], "second": STAGES[3:]}
pytestmark = pytest.mark.stage


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


@pytest.fixture(scope="module")
def concurrent(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`airlift-tutorial run` of each lane in its own workspace, at the same time; what each left behind."""
    homes = {lane: tmp_path_factory.mktemp(lane) for lane in LANES}
    logs = tmp_path_factory.mktemp("logs")
    # Direct UI links here (the stage tests cover the jupyter-server-proxy paths).
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1", jupyter_proxy.SETTING: "off"}
    watcher = Watcher(homes)
    watcher.thread.start()
    procs = {}
    try:
        for lane, stages in LANES.items():
            with (logs / f"{lane}.log").open("w") as log:
                procs[lane] = subprocess.Popen(
                    [sys.executable, "-m", "tutorial_lib.cli", "--home", str(homes[lane]), "run", *stages],
                    cwd=REPO,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
        codes = {lane: proc.wait(timeout=3600) for lane, proc in procs.items()}
    finally:
        watcher.stop.set()
        watcher.thread.join()
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    results, run_dirs = {}, {}
    for lane, home in homes.items():
        summary = sorted((home / "runs").glob("*/summary.json"))
        if summary:
            run_dirs[lane] = summary[-1].parent
            results.update({r["stage"]: r for r in json.loads(summary[-1].read_text())})
    left = {lane: services.workspace_processes(home) for lane, home in homes.items()}
    for home in homes.values():
        services.down(home)
    return {
        "homes": homes,
        "codes": codes,
        "outputs": {lane: (logs / f"{lane}.log").read_text() for lane in LANES},
        "results": results,
        "run_dirs": run_dirs,
        "left": left,
        "watcher": watcher,
    }


@pytest.mark.parametrize("lane", list(LANES))
def test_run_passes_its_stages_and_prints_the_summary_table(concurrent: dict[str, Any], lane: str) -> None:
    output, stages = concurrent["outputs"][lane], LANES[lane]
    assert concurrent["codes"][lane] == 0, output[-4000:]
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["stage", "status"])
    rows = [line.split() for line in lines[header + 2 : header + 3 + len(stages)]]
    assert [row[:2] for row in rows] == [[s, "passed"] for s in stages] + [
        ["total", f"{len(stages)}/{len(stages)}"]
    ]
    run_dir = concurrent["run_dirs"][lane]
    notebooks = runner.stage_notebooks()
    assert sorted(path.name for path in run_dir.glob("*.ipynb")) == sorted(notebooks[s].name for s in stages)
    assert (run_dir / "summary.md").read_text().count("| passed |") == len(stages)


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
def test_executed_notebook_outputs_match_the_committed_ones(concurrent: dict[str, Any], stage: str) -> None:
    committed = runner.stage_notebooks()[stage]
    lane = next(lane for lane, stages in LANES.items() if stage in stages)
    executed = concurrent["run_dirs"][lane] / committed.name
    assert executed.exists(), f"{stage} was not executed"
    reference = notebook_outputs.nbformat.read(committed, as_version=4)
    assert sum(notebook_outputs.checked(c) for c in reference.cells if c.cell_type == "code") > 0
    mismatches = notebook_outputs.compare(committed, executed)
    assert mismatches == [], "\n\n".join(map(str, mismatches))


def test_two_workspaces_ran_at_once_on_their_own_ports_and_processes(concurrent: dict[str, Any]) -> None:
    watcher: Watcher = concurrent["watcher"]
    assert watcher.both_up >= 30, f"the two workspaces were never up together; errors: {watcher.errors[:3]}"
    assert all(watcher.ports.values()), watcher.ports
    assert not set.intersection(*watcher.ports.values()), watcher.ports
    assert not watcher.shared_pids, watcher.shared_pids


def test_no_process_is_left_after_a_run_that_started_its_services(concurrent: dict[str, Any]) -> None:
    assert concurrent["left"] == {lane: [] for lane in LANES}, "a run left processes of services it started"


@pytest.mark.parametrize("lane", list(LANES))
def test_no_notebook_output_or_workspace_file_shows_a_secret(concurrent: dict[str, Any], lane: str) -> None:
    home = concurrent["homes"][lane]
    secrets_dir = Workspace(home).secrets_dir
    secrets = {path.name: path.read_text().strip() for path in secrets_dir.iterdir()}
    assert len(secrets.get("airflow_password", "")) >= 16, secrets.keys()
    files = [path for path in home.rglob("*") if path.is_file() and secrets_dir not in path.parents]
    assert any(path.suffix == ".ipynb" for path in files) and any(path.suffix == ".log" for path in files)
    for where, text in [("run output", concurrent["outputs"][lane])] + [
        (str(path), path.read_bytes().decode(errors="replace")) for path in files
    ]:
        shown = [name for name, value in secrets.items() if value in text]
        assert not shown, f"{', '.join(shown)} written in {where}"
