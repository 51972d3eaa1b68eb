"""Re-run stage notebooks twice, exercises solved and not; store the outputs readers and nbval need in the
committed ones.

Usage: .venv/bin/python tools/refresh_notebook_outputs.py [STAGE ...]   (services of the workspace are reused)

Kept: the outputs of cells tagged `nbval-check-output`, `proof` (compared by the tests) and `keep-output`
(definitions, diffs, lineage, tables: there for reading), from the run with the exercises solved; and the
outputs of `exercise` cells from the run on a new project's starters, as a learner first sees them ("not done
yet" and a hint), which is what `pytest --nbval-lax notebooks/` compares. Every other output is cleared, so
the committed notebooks hold no paths, ports or times; `tests/cli/test_notebook_outputs.py` checks that.
"""

from __future__ import annotations

import shutil
import sys

import nbformat

from tutorial_lib.cli import notebook_outputs, runner
from tutorial_lib.progress import PROGRESS_METADATA
from tutorial_lib.workspace import Workspace

PROGRESS_KEY = next(iter(PROGRESS_METADATA))


def execute(stage: str, workspace: Workspace, solved: bool) -> dict[str, nbformat.NotebookNode]:
    """Run one stage notebook, exercises solved or not; its cells by id."""
    run_dir = workspace.runs_dir / ("reference" if solved else "reference-unsolved")
    run_dir.mkdir(parents=True, exist_ok=True)
    parameters = {**runner.DEFAULT_PARAMETERS, "SOLUTIONS": solved}
    result = runner.run_stage(stage, workspace, run_dir, parameters=parameters)
    if result.status != "passed":
        sys.exit(runner.format_result(result, workspace))
    return {cell.get("id"): cell for cell in nbformat.read(result.notebook, as_version=4).cells}


def refresh(stage: str, workspace: Workspace) -> None:
    """Execute one stage notebook both ways and copy its kept outputs into the committed notebook."""
    # The starters, as a learner gets them: a new project and DAG folder (the old ones backed up).
    if workspace.backup_project():
        shutil.rmtree(workspace.definitions_dir)
        workspace.install_definitions()
    if workspace.backup_dags():
        shutil.rmtree(workspace.dags_dir)
        workspace.install_dags()
    unsolved = execute(stage, workspace, solved=False)
    solved = execute(stage, workspace, solved=True)
    path = runner.stage_notebooks()[stage]
    notebook = nbformat.read(path, as_version=4)
    for number, cell in enumerate((c for c in notebook.cells if c.cell_type == "code"), start=1):
        kept = notebook_outputs.kept(cell)
        exercise = notebook_outputs.EXERCISE_TAG in cell.get("metadata", {}).get("tags", [])
        source = unsolved if exercise else solved
        # nbval refuses stored outputs of a cell without an execution count.
        cell.execution_count = number if kept else None
        cell.outputs = list(source[cell.get("id")].outputs) if kept else []
        compared = notebook_outputs.checked(cell) or notebook_outputs.checked(cell, solved=True)
        if kept:  # progress lines hold times: kept only where a comparison sanitizes them
            cell.outputs = [
                out for out in cell.outputs if compared or not out.get("metadata", {}).get(PROGRESS_KEY)
            ]
        for output in cell.outputs:
            if "execution_count" in output:
                output["execution_count"] = number
    nbformat.write(notebook, path)
    print(f"{path.name}: reference outputs stored")


if __name__ == "__main__":
    ws = Workspace().ensure()
    for name in sys.argv[1:] or runner.select_stages(None):
        refresh(name, ws)
