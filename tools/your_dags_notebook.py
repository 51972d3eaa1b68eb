"""Write notebooks/08_your_dags.ipynb, the closing notebook, then run it and store its outputs, sanitized.

Usage: .venv/bin/python tools/your_dags_notebook.py [--no-run]

The notebook is not a stage: it has no definitions of the tutorial's to check, only the learner's own
DAGs. It runs `airlift-tutorial assess`, `scaffold` and `peer-project` on Airflow's own example DAGs, as a
learner would on theirs. Its outputs go through the same sanitizer as the stages'
(`notebook_outputs.published`): no paths, ports, times or run ids are committed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))

from tutorial_lib import stages  # noqa: E402

NOTEBOOK = REPO / "notebooks" / stages.YOUR_DAGS_NOTEBOOK

CELLS: list[tuple[str, str, list[str]]] = [
    (
        "markdown",
        """# 8 · Your own DAGs: assess, scaffold, peer

You have moved one DAG, task by task. At work there is a folder of them, and the first questions are
practical: which tasks can be observed, which can be proxied one by one, which DAGs must move as a whole,
and what each operator becomes in Dagster. Three commands answer them, on any folder of DAG files,
without changing it:

- `airlift-tutorial assess FOLDER` loads the folder with Airflow's own DagBag (in a throw-away Airflow
  home) and gives every task a **recipe**: a factory over the same Python callable,
  `PipesSubprocessClient` for a Bash command, `@dbt_assets` for a dbt command, `PipesK8sClient` for a
  pod, DAG-level for mapped tasks, and so on. It also says whether each DAG's schedule gives time-window
  partitions, and which Airflow datasets it reads and writes. `--json` gives the same as data for a
  migration plan.
- `airlift-tutorial scaffold FOLDER --into DIR` writes a starter Dagster project: the peer definitions, a
  `task_mappings.py` with every task and a TODO, the proxied-state YAML (all `false`), and a README of
  next steps.
- `airlift-tutorial peer-project DIR` peers that project live: a copy of the folder in a throw-away
  Airflow inside your workspace, and a Dagster that loads your `definitions.py`.

Here they run on the example DAGs that Airflow ships (about sixty files no one here wrote). Set
`DAGS_FOLDER` to your own folder to do the same with yours.""",
        [],
    ),
    (
        "code",
        """DAGS_FOLDER = None  # your DAG folder; None: Airflow's own example DAGs
PROJECT = None  # where the starter project goes; None: my-migration/ in your workspace
RUN_DAG = "tutorial_taskflow_api"  # a DAG to run once in the live peer; None: run none""",
        ["parameters"],
    ),
    (
        "code",
        """import importlib.util
import os
import sys
from pathlib import Path

# The environment's commands first on PATH, as in an activated virtual environment.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]

if DAGS_FOLDER is None:  # Airflow ships its example DAGs inside its package
    DAGS_FOLDER = Path(importlib.util.find_spec("airflow").submodule_search_locations[0]) / "example_dags"
workspace = Path(os.environ.get("AIRLIFT_TUTORIAL_HOME") or Path.cwd().parent / ".workbench")
PROJECT = Path(PROJECT or workspace / "my-migration")
print(f"DAGs:    {DAGS_FOLDER}\\nproject: {PROJECT}")""",
        [],
    ),
    (
        "markdown",
        """## Assess: what each task becomes

One block per DAG: its schedule and datasets, whether time-window partitions fit, how it migrates, then a
line per task with its operator, its recipe and whether it can be **proxied alone** (`yes`), must stay in
Airflow until the whole DAG moves (`no`, with the reason in `--json`), or does no work (`n/a`). A sensor
waits on a condition and a branch decides which tasks run: both stay in Airflow while their neighbours
are proxied. A mapped task (`.expand()`) cannot be proxied at all, so its DAG migrates at the DAG level.""",
        [],
    ),
    ("code", "!airlift-tutorial assess {DAGS_FOLDER} | head -45", []),
    (
        "markdown",
        """The end of the report counts the recipes, and lists each file that did not import with the
line that says why: a missing provider is named with the package to install; here, three example files
read Airflow's metadata database while they are parsed, which a throw-away Airflow home does not have.""",
        [],
    ),
    ("code", "!airlift-tutorial assess {DAGS_FOLDER} | tail -22", []),
    (
        "markdown",
        """## Scaffold: a starter project

`scaffold` writes only inside `PROJECT`, and refuses a folder holding files it did not write; run it
again and it rewrites only the files you have not changed. The proxied-state files come from upstream's
own `dagster-airlift proxy scaffold`, pointed at the project instead of your DAG folder.""",
        [],
    ),
    ("code", "!airlift-tutorial scaffold {DAGS_FOLDER} --into {PROJECT}", []),
    (
        "markdown",
        """The peer definitions read Airflow's address and login from the environment, as a deployment
provides them. When two Airflow datasets would become one Dagster asset (dagster-airlift names a
dataset's asset after the last part of its URI, and the examples have `s3://dag1/output_1.txt` and
`s3://dag2/output_1.txt`), the definitions leave the datasets out and say why: loading them would fail.""",
        [],
    ),
    ("code", "!sed -n '/^airflow_instance/,$p' {PROJECT}/definitions.py", []),
    (
        "markdown",
        """`task_mappings.py` lists every task of every DAG with its recipe. Observing a DAG is filling
its TODOs with the `AssetSpec`s each task writes; the stages you have done show how.""",
        [],
    ),
    ("code", "!grep -A12 '^    .tutorial_taskflow_api.:' {PROJECT}/task_mappings.py", []),
    (
        "markdown",
        """## Peer it, live

A copy of the folder goes into a throw-away Airflow in your workspace (`your-dags/`), and a Dagster loads
the project's `definitions.py`: every DAG becomes an asset. With `--run`, one DAG runs in Airflow and
Dagster records the run as a materialization of that DAG's asset. Open the two links to look around; the
login is the workspace's, as in the stages.""",
        [],
    ),
    ("code", "!airlift-tutorial peer-project {PROJECT} {'--run ' + RUN_DAG if RUN_DAG else ''}", []),
    (
        "markdown",
        """## Your real Airflow, read-only

The same assessment reads a running Airflow 2 over its REST API, with GET requests only: nothing is
triggered, paused or changed. The password comes from `AIRFLOW_PASSWORD` or a prompt, never from the
command line:

```bash
AIRFLOW_PASSWORD=... airlift-tutorial assess --airflow-url https://airflow.example.com --user me
```

The REST API names each task's class but not its parent classes, so a custom operator reads as "no
recipe" there; `assess` on the DAG folder itself sees the whole class chain. `scaffold` takes the same
options and writes the same project for that Airflow's DAGs:

```bash
AIRFLOW_PASSWORD=... airlift-tutorial scaffold --airflow-url https://airflow.example.com --user me \\
    --into ~/work/dagster-migration
```

Run `dagster dev -f definitions.py` in that folder, with the Airflow's address and login in
`AIRFLOW_WEBSERVER_URL`, `AIRFLOW_USERNAME` and `AIRFLOW_PASSWORD`: that is the peer stage, on your own
DAGs.

When you are done here, stop the throw-away Airflow and Dagster:""",
        [],
    ),
    ("code", "!airlift-tutorial --home {workspace}/your-dags down", []),
]


def build() -> nbformat.NotebookNode:
    """The notebook, with stable cell ids (outputs empty)."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {
        "kernelspec": {"display_name": "airlift-tutorial", "language": "python", "name": "airlift-tutorial"},
        "language_info": {"name": "python"},
    }
    for number, (kind, source, tags) in enumerate(CELLS):
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        cell = make(source, id=f"your-dags-{number:02d}")
        if tags:
            cell.metadata["tags"] = tags
        notebook.cells.append(cell)
    return notebook


def as_shown(text: str) -> str:
    """Text as a terminal shows it: of each line rewritten with carriage returns, only its last state."""
    lines = text.replace("\r\n", "\n").split("\n")  # a pseudo-terminal ends lines with \r\n
    return "\n".join(line.rsplit("\r", 1)[-1].rstrip() for line in lines)


def merged_streams(outputs: list) -> list:
    """Consecutive stream outputs of one name as one, as the terminal that printed them showed them."""
    merged: list = []
    for output in outputs:
        last = merged[-1] if merged else None
        if (
            output.get("output_type") == "stream"
            and last
            and last.get("output_type") == "stream"
            and (last["name"] == output["name"])
        ):
            last["text"] += output["text"]
        else:
            merged.append(output)
    for output in merged:
        if output.get("output_type") == "stream":
            output["text"] = as_shown(output["text"])
    return merged


def run_and_store(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Execute it in this checkout's workspace and keep its outputs, sanitized."""
    import os

    import papermill
    from refresh_notebook_outputs import private_values, refresh_dates

    from tutorial_lib import services
    from tutorial_lib.cli import notebook_outputs
    from tutorial_lib.workspace import Workspace

    ws = Workspace().ensure()
    os.environ["AIRLIFT_TUTORIAL_HOME"] = str(ws.home)
    source = ws.runs_dir / "your-dags-source.ipynb"
    done = ws.runs_dir / "your-dags-executed.ipynb"
    nbformat.write(notebook, source)
    try:
        papermill.execute_notebook(
            str(source),
            str(done),
            kernel_name="airlift-tutorial",
            cwd=str(NOTEBOOK.parent),
            progress_bar=False,
        )
    finally:
        services.down(Workspace(ws.your_dags_home))
    executed = {cell.get("id"): cell for cell in nbformat.read(done, as_version=4).cells}
    literals = private_values(ws)
    dates = refresh_dates()
    for cell in notebook.cells:
        if cell.cell_type == "code" and "parameters" not in cell.metadata.get("tags", []):
            ran = executed[cell.id]
            outputs = merged_streams(ran.outputs)
            cell.outputs = notebook_outputs.published(outputs, literals=literals, dates=dates)
            cell.execution_count = ran.execution_count
    return notebook


if __name__ == "__main__":
    built = build()
    if "--no-run" not in sys.argv:
        built = run_and_store(built)
    nbformat.write(built, NOTEBOOK)
    print(f"wrote {NOTEBOOK}")
