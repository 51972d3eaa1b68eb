"""Re-run stage notebooks twice, exercises solved and not; store the outputs readers and nbval need in the
committed ones.

Usage: make refresh [STAGES="peer observe"], or .venv/bin/python tools/refresh_notebook_outputs.py [STAGE ...]
(the services of the workspace are reused; --no-pictures keeps docs/screenshots/ as it is)

The run with the exercises solved also retakes the pictures of the UI pages the notebooks embed
(`tutorial_lib/notebook/screenshots.py`): each `ui.pointer` registered there saves its page, as Chromium shows
it, to docs/screenshots/.

Stored: every code cell's outputs (the parameters cell has none), so that a reader can follow the story on
GitHub without running it. Those of `exercise` cells come from the run on a new project's starters, as a
learner first sees them ("not done yet" and a hint), which is what `pytest --nbval-lax notebooks/` compares;
all others from the run with the exercises solved. Every text goes through `notebook_outputs.published`:
ports, run ids, wall-clock times, durations, the workspace's folder and its password are replaced by
placeholders, so the committed notebooks hold nothing that varies between machines or runs
(`tests/cli/test_notebook_outputs.py` checks that).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta

import nbformat

from tutorial_lib import env_vars
from tutorial_lib.cli import notebook_outputs, runner
from tutorial_lib.notebook import screenshots
from tutorial_lib.workspace import REPO_ROOT, Workspace


def execute(
    stage: str, workspace: Workspace, solved: bool, pictures: bool = False
) -> dict[str, nbformat.NotebookNode]:
    """Run one stage notebook, exercises solved or not, taking the pictures or not; its cells by id."""
    run_dir = workspace.runs_dir / ("reference" if solved else "reference-unsolved")
    run_dir.mkdir(parents=True, exist_ok=True)
    parameters = {**runner.DEFAULT_PARAMETERS, "SOLUTIONS": solved}
    # The kernel inherits this environment: its pointers find the workspace and the pictures' folder.
    os.environ[env_vars.HOME] = str(workspace.home)
    os.environ.pop(env_vars.SCREENSHOTS, None)
    if pictures:
        os.environ[env_vars.SCREENSHOTS] = str(screenshots.DOCS)
    try:
        result = runner.run_stage(stage, workspace, run_dir, parameters=parameters)
    finally:
        os.environ.pop(env_vars.SCREENSHOTS, None)
    if result.status != "passed":
        sys.exit(runner.format_result(result, workspace))
    return {cell.get("id"): cell for cell in nbformat.read(result.notebook, as_version=4).cells}


def refresh(stage: str, workspace: Workspace, pictures: bool = True) -> None:
    """Execute one stage notebook both ways and copy its kept outputs into the committed notebook."""
    # The starters, as a learner gets them: a new project and DAG folder (the old ones backed up).
    if workspace.backup_project():
        shutil.rmtree(workspace.definitions_dir)
        workspace.install_definitions()
    if workspace.backup_dags():
        shutil.rmtree(workspace.dags_dir)
        workspace.install_dags()
    unsolved = execute(stage, workspace, solved=False)
    started = time.time()
    solved = execute(stage, workspace, solved=True, pictures=pictures)
    stale = [
        shot.file
        for shot in screenshots.SHOTS
        if pictures and shot.stage == stage and (screenshots.DOCS / shot.file).stat().st_mtime < started
    ]
    if stale:  # the kernel's stderr, in the executed notebook, says why
        sys.exit(f"{stage}: pictures not taken: {stale}; see the executed notebook in {workspace.runs_dir}")
    path = runner.stage_notebooks()[stage]
    notebook = nbformat.read(path, as_version=4)
    literals = private_values(workspace)
    number = 0
    for cell in (c for c in notebook.cells if c.cell_type == "code"):
        tags = cell.get("metadata", {}).get("tags", [])
        source = unsolved if notebook_outputs.EXERCISE_TAG in tags else solved
        outputs = [] if "parameters" in tags else source[cell.get("id")].outputs
        cell.outputs = notebook_outputs.published(list(outputs), literals=literals, dates=refresh_dates())
        # nbval refuses stored outputs of a cell without an execution count.
        number += bool(cell.outputs)
        cell.execution_count = number if cell.outputs else None
        for output in cell.outputs:
            if "execution_count" in output:
                output["execution_count"] = number
    nbformat.write(notebook, path)
    print(f"{path.name}: reference outputs stored")


def refresh_dates() -> dict[str, str]:
    """The dates around the refresh and what stands for them (a schedule's next tick, the partitions
    up to now): replaced after the sanitizer, which turns a run id with today's time into `manual__<time>`."""
    today = datetime.now(UTC).date()
    return {
        (today + timedelta(days=days)).isoformat(): name
        for days, name in ((-1, "<yesterday>"), (0, "<today>"), (1, "<tomorrow>"))
    }


def private_values(workspace: Workspace) -> dict[str, str]:
    """What must not reach a committed notebook, and what stands for it: the workspace's folder, the
    repository's and every secret of the workspace."""
    values = {str(workspace.home): "<workspace>", str(REPO_ROOT): "<repo>"}
    for secret in sorted(workspace.secrets_dir.glob("*")):
        if secret.is_file() and secret.read_text().strip():
            values[secret.read_text().strip()] = "<password>"
    return values


if __name__ == "__main__":
    names = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    ws = Workspace().ensure()
    for name in names or runner.select_stages(None):
        refresh(name, ws, pictures="--no-pictures" not in sys.argv)
