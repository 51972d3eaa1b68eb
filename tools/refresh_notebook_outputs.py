"""Re-run stage notebooks and store, as nbval's reference, the outputs of the cells marked NBVAL_CHECK_OUTPUT.

Usage: .venv/bin/python tools/refresh_notebook_outputs.py [STAGE ...]   (services of .workbench are reused)
Every other output is cleared, so the committed notebooks hold no paths, ports or timestamps.
"""

from __future__ import annotations

import sys

import nbformat

from tutorial_lib import runner
from tutorial_lib.workspace import Workspace


def refresh(stage: str, workspace: Workspace) -> None:
    """Execute one stage notebook and copy its checked outputs into the committed notebook."""
    run_dir = workspace.runs_dir / "reference"
    run_dir.mkdir(parents=True, exist_ok=True)
    result = runner.run_stage(stage, workspace, run_dir)
    if result.status != "passed":
        sys.exit(runner.format_result(result, workspace))
    executed = {cell.get("id"): cell for cell in nbformat.read(result.notebook, as_version=4).cells}
    path = runner.stage_notebooks()[stage]
    notebook = nbformat.read(path, as_version=4)
    for number, cell in enumerate((c for c in notebook.cells if c.cell_type == "code"), start=1):
        checked = "NBVAL_CHECK_OUTPUT" in cell.source
        # nbval refuses stored outputs of a cell without an execution count.
        cell.execution_count = number if checked else None
        cell.outputs = list(executed[cell.get("id")].outputs) if checked else []
        for output in cell.outputs:
            if "execution_count" in output:
                output["execution_count"] = number
    nbformat.write(notebook, path)
    print(f"{path.name}: reference outputs stored")


if __name__ == "__main__":
    ws = Workspace().ensure()
    for name in sys.argv[1:] or runner.select_stages(None):
        refresh(name, ws)
