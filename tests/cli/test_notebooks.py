"""Every stage notebook on real services, each executed once, in two lanes at the same time. One lane runs the
first stages from a fresh workspace, the other the later stages from another fresh one (so a learner can start
anywhere); then each lane runs one variant, again from a fresh workspace of its own. Papermill's executed
notebooks are then compared with the committed outputs, as nbval would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tutorial_lib import services
from tutorial_lib.cli import notebook_outputs, runner
from tutorial_lib.services import jupyter_proxy
from tutorial_lib.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
STAGES = list(runner.stage_notebooks())
# Runs (one `airlift-tutorial run` in a fresh workspace each), in two lanes of about equal length that run at
# the same time; the second starts in the middle of the tutorial.
RUNS = {
    "first": ["peer", "observe", "partitions"],
    "second": ["migrate", "decommission"],
    "component": ["component"],
    "dag_level": ["dag_level"],
}
LANES = {"first": ["first", "component"], "second": ["second", "dag_level"]}
pytestmark = pytest.mark.stage


class Watcher:
    """Samples, every second, the ports and processes each workspace's services use at that moment."""

    def __init__(self, homes: dict[str, Path]) -> None:
        self.homes = homes
        self.ports: dict[str, set[int]] = {name: set() for name in homes}
        self.shared_pids: set[int] = set()  # pids seen in two workspaces in the same sample
        self.both_up = 0  # samples with two workspaces up
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
        up = [pids for pids in now.values() if pids]
        self.shared_pids |= {
            pid for i, pids in enumerate(up) for other in up[i + 1 :] for pid in pids & other
        }
        self.both_up += len(up) >= 2


SHARED_TEMPORARY = (Path("/tmp"), Path("/dev/shm"))


def shared_temporary_entries() -> set[str]:
    """What the machine's shared temporary folders hold now (pytest's own folder aside)."""
    return {
        str(entry)
        for folder in SHARED_TEMPORARY
        if folder.is_dir()
        for entry in folder.iterdir()
        if not entry.name.startswith("pytest-of-")
    }


@pytest.fixture(scope="module")
def concurrent(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`airlift-tutorial run` of each run in its own workspace, the lanes at the same time; what each left."""
    homes = {run: tmp_path_factory.mktemp(run) for run in RUNS}
    logs = tmp_path_factory.mktemp("logs")
    # Direct UI links here (the stage tests cover the jupyter-server-proxy paths).
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1", jupyter_proxy.SETTING: "off"}
    watcher = Watcher(homes)
    codes: dict[str, int] = {}
    left: dict[str, list[int]] = {}

    def lane(runs: list[str]) -> None:
        for run in runs:
            command = [sys.executable, "-m", "tutorial_lib.cli", "--home", str(homes[run]), "run", *RUNS[run]]
            with (logs / f"{run}.log").open("w") as log:
                done = subprocess.run(
                    command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=3600
                )
            codes[run] = done.returncode
            left[run] = services.workspace_processes(homes[run])

    shared_before = shared_temporary_entries()
    watcher.thread.start()
    threads = [threading.Thread(target=lane, args=(runs,)) for runs in LANES.values()]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        watcher.stop.set()
        watcher.thread.join()
    results, run_dirs = {}, {}
    for lane, home in homes.items():
        summary = sorted((home / "runs").glob("*/summary.json"))
        if summary:
            run_dirs[lane] = summary[-1].parent
            results.update({r["stage"]: r for r in json.loads(summary[-1].read_text())})
    for home in homes.values():
        services.down(home)
    return {
        "new_shared_entries": sorted(shared_temporary_entries() - shared_before),
        "homes": homes,
        "codes": codes,
        "outputs": {run: (logs / f"{run}.log").read_text() for run in RUNS},
        "results": results,
        "run_dirs": run_dirs,
        "left": left,
        "watcher": watcher,
    }


@pytest.mark.parametrize("run", list(RUNS))
def test_run_passes_its_stages_and_prints_the_summary_table(concurrent: dict[str, Any], run: str) -> None:
    output, stages = concurrent["outputs"][run], RUNS[run]
    assert concurrent["codes"].get(run) == 0, output[-4000:]
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["stage", "status"])
    rows = [line.split() for line in lines[header + 2 : header + 3 + len(stages)]]
    assert [row[:2] for row in rows] == [[s, "passed"] for s in stages] + [
        ["total", f"{len(stages)}/{len(stages)}"]
    ]
    run_dir = concurrent["run_dirs"][run]
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
    assert activity["dag_level"]["dagster_runs"] >= 2, activity  # the proxied run, the decommissioned one
    assert activity["component"]["assets_materialized"] == 9 and activity["component"]["checks_passed"] >= 1


@pytest.mark.parametrize("stage", STAGES)
def test_executed_notebook_outputs_match_the_committed_ones(concurrent: dict[str, Any], stage: str) -> None:
    committed = runner.stage_notebooks()[stage]
    run = next(run for run, stages in RUNS.items() if stage in stages)
    executed = concurrent["run_dirs"][run] / committed.name
    assert executed.exists(), f"{stage} was not executed"
    reference = notebook_outputs.nbformat.read(committed, as_version=4)
    assert sum(notebook_outputs.checked(c, solved=True) for c in reference.cells if c.cell_type == "code") > 0
    mismatches = notebook_outputs.compare(committed, executed, solved=True)
    assert mismatches == [], "\n\n".join(map(str, mismatches))


def test_two_workspaces_ran_at_once_on_their_own_ports_and_processes(concurrent: dict[str, Any]) -> None:
    watcher: Watcher = concurrent["watcher"]
    assert watcher.both_up >= 30, f"the two workspaces were never up together; errors: {watcher.errors[:3]}"
    assert all(watcher.ports.values()), watcher.ports
    assert not set.intersection(*watcher.ports.values()), watcher.ports
    assert not watcher.shared_pids, watcher.shared_pids


def test_the_runs_and_down_leave_nothing_in_the_shared_tmp_or_dev_shm(concurrent: dict[str, Any]) -> None:
    # Every service keeps its temporary files, caches and sockets in its workspace (`<workspace>/tmp`), and
    # `down` lets the resource trackers unlink the semaphores multiprocessing made in /dev/shm.
    assert concurrent["new_shared_entries"] == []


def test_no_process_is_left_after_a_run_that_started_its_services(concurrent: dict[str, Any]) -> None:
    assert concurrent["left"] == {run: [] for run in RUNS}, "a run left processes of services it started"


@pytest.mark.parametrize("run", list(RUNS))
def test_no_notebook_output_or_workspace_file_shows_a_secret(concurrent: dict[str, Any], run: str) -> None:
    home = concurrent["homes"][run]
    secrets_dir = Workspace(home).secrets_dir
    secrets = {path.name: path.read_text().strip() for path in secrets_dir.iterdir()}
    assert len(secrets.get("airflow_password", "")) >= 16, secrets.keys()
    files = [path for path in home.rglob("*") if path.is_file() and secrets_dir not in path.parents]
    assert any(path.suffix == ".ipynb" for path in files) and any(path.suffix == ".log" for path in files)
    for where, text in [("run output", concurrent["outputs"][run])] + [
        (str(path), path.read_bytes().decode(errors="replace")) for path in files
    ]:
        shown = [name for name, value in secrets.items() if value in text]
        assert not shown, f"{', '.join(shown)} written in {where}"
