"""Re-run stage notebooks (exercises solved); store the outputs readers and nbval need in the committed ones.

Usage: .venv/bin/python tools/refresh_notebook_outputs.py [STAGE ...]   (services of the workspace are reused)

Kept: the outputs of cells tagged `nbval-check-output` (compared by the tests) and `keep-output` (definitions,
diffs, lineage, tables: there for reading). Every other output is cleared, so the committed notebooks hold no
paths, ports or times; `tests/cli/test_notebook_outputs.py` checks that.
"""

from __future__ import annotations

import sys

import nbformat

from tutorial_lib.cli import notebook_outputs, runner
from tutorial_lib.progress import PROGRESS_METADATA
from tutorial_lib.workspace import Workspace

PROGRESS_KEY = next(iter(PROGRESS_METADATA))


def refresh(stage: str, workspace: Workspace) -> None:
    """Execute one stage notebook and copy its kept outputs into the committed notebook."""
    run_dir = workspace.runs_dir / "reference"
    run_dir.mkdir(parents=True, exist_ok=True)
    result = runner.run_stage(stage, workspace, run_dir, parameters=runner.DEFAULT_PARAMETERS)
    if result.status != "passed":
        sys.exit(runner.format_result(result, workspace))
    executed = {cell.get("id"): cell for cell in nbformat.read(result.notebook, as_version=4).cells}
    path = runner.stage_notebooks()[stage]
    notebook = nbformat.read(path, as_version=4)
    for number, cell in enumerate((c for c in notebook.cells if c.cell_type == "code"), start=1):
        kept = notebook_outputs.kept(cell)
        # nbval refuses stored outputs of a cell without an execution count.
        cell.execution_count = number if kept else None
        cell.outputs = list(executed[cell.get("id")].outputs) if kept else []
        if kept and not notebook_outputs.checked(
            cell
        ):  # progress lines hold times; nothing compares them here
            cell.outputs = [out for out in cell.outputs if not out.get("metadata", {}).get(PROGRESS_KEY)]
        for output in cell.outputs:
            if "execution_count" in output:
                output["execution_count"] = number
    nbformat.write(notebook, path)
    print(f"{path.name}: reference outputs stored")


if __name__ == "__main__":
    ws = Workspace().ensure()
    for name in sys.argv[1:] or runner.select_stages(None):
        refresh(name, ws)
