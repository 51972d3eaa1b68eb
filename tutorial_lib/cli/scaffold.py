"""`airlift-tutorial scaffold DAGS_FOLDER --into DIR`: a starter Dagster project that peers those DAGs.

It writes, only inside DIR: `definitions.py` (peer the Airflow instance, with the task mappings),
`task_mappings.py` (every task of every DAG, its recipe and a TODO for the assets it writes),
`proxied_state/<dag>.yaml` (upstream's `dagster-airlift proxy scaffold`: every task `proxied: false`),
`README.md` (next steps, and the assessment) and `.airlift-scaffold.json`, the list of what it wrote with each
file's hash. A DIR holding a file it did not write is refused; a file it wrote and the learner has since
edited is kept, never overwritten."""

from __future__ import annotations

import hashlib
import json
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tutorial_lib import env_vars
from tutorial_lib.cli import assess

MANIFEST = ".airlift-scaffold.json"
INSTANCE_NAME = "airflow"


class ScaffoldError(assess.AssessError):
    """DIR cannot be written as asked; the message names the files in the way and what to do."""


@dataclass
class Scaffolded:
    """What a scaffold wrote, and what it kept because the learner had changed it."""

    into: Path
    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    plan: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        """For the terminal."""
        counts = self.plan["counts"]
        lines = [
            f"Wrote {len(self.written)} file(s) into {self.into}: {counts['dags']} DAG(s), {counts['tasks']} "
            f"task(s), {counts['import_errors']} file(s) that did not import (listed in README.md)."
        ]
        if self.kept:
            lines.append(f"Kept {len(self.kept)} file(s) you changed: {', '.join(self.kept)}")
        lines.append(f"Next: {self.into / 'README.md'}")
        return "\n".join(lines)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(into: Path) -> dict[str, Any]:
    """What an earlier scaffold recorded in `into` (source folder, DAG ids, files and hashes), or {}."""
    path = into / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else {}


def _check_target(into: Path) -> dict[str, str]:
    """The manifest of an earlier scaffold in `into` ({} for a new or empty folder); refuses anything else."""
    if into.exists() and not into.is_dir():
        raise ScaffoldError(f"{into} is a file. Name a folder for the new project (it may not exist yet).")
    ours = read_manifest(into).get("files", {})
    present = sorted(
        str(path.relative_to(into)) for path in into.rglob("*") if path.is_file() or path.is_symlink()
    ) if into.exists() else []  # fmt: skip
    foreign = [name for name in present if name != MANIFEST and name not in ours]
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise ScaffoldError(
            f"{into} holds files the scaffold did not write ({shown}). Nothing was written. Name a new or "
            "empty folder, or one an earlier `airlift-tutorial scaffold` wrote."
        )
    return ours


def _py(value: str) -> str:
    return json.dumps(value)  # a valid Python string literal for any id


def _retrieval(collisions: dict[str, list[str]]) -> tuple[str, str]:
    """The import and the argument that leave Airflow's datasets out, when dagster-airlift would give two of
    them the same asset key (which would stop the definitions from loading); else nothing."""
    if not collisions:
        return "", ""
    named = "; ".join(f"{key}: {', '.join(uris)}" for key, uris in collisions.items())
    note = textwrap.wrap(
        "Your datasets are left out: dagster-airlift names a dataset's asset after the last part of its "
        f"URI, and these would be one asset: {named}. Map them in task_mappings.py with keys of your own.",
        100,
        initial_indent="    # ",
        subsequent_indent="    # ",
    )
    argument = "\n".join(note) + "\n    retrieval_filter=AirflowFilter(retrieve_datasets=False),\n"
    return "\nfrom dagster_airlift.core.filter import AirflowFilter", argument


def definitions_py(source: str, collisions: dict[str, list[str]] | None = None) -> str:
    """The peer definitions, with the task mappings."""
    extra_import, retrieval = _retrieval(collisions or {})
    return f'''"""Dagster definitions that peer your Airflow: every DAG is an asset, materialized when a
run succeeds, and every task mapped in task_mappings.py adds the assets it writes.

Made by `airlift-tutorial scaffold`; yours to edit. The DAGs it was made from:
{source}

Run it from this folder:

    {env_vars.AIRFLOW_URL}=http://localhost:8080 {env_vars.AIRFLOW_USERNAME}=admin \\
        {env_vars.AIRFLOW_PASSWORD}=... dagster dev -f definitions.py
"""

import os

from dagster import Definitions
from dagster_airlift.core import (
    AirflowBasicAuthBackend,
    AirflowInstance,
    build_defs_from_airflow_instance,
){extra_import}
from task_mappings import mapped_assets


def setting(name: str) -> str:
    """A setting from the environment, or an error that names it."""
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"Set {{name}}: these definitions read your Airflow's address and login from it.")
    return value


airflow_instance = AirflowInstance(
    auth_backend=AirflowBasicAuthBackend(
        webserver_url=setting({_py(env_vars.AIRFLOW_URL)}),
        username=setting({_py(env_vars.AIRFLOW_USERNAME)}),
        password=setting({_py(env_vars.AIRFLOW_PASSWORD)}),
    ),
    name={_py(INSTANCE_NAME)},
)

defs = build_defs_from_airflow_instance(
    airflow_instance=airflow_instance,
    defs=Definitions(assets=mapped_assets),
{retrieval})
'''


def _comment(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, 100, initial_indent=f"{indent}# ", subsequent_indent=f"{indent}#   ")


def task_mappings_py(plan: dict[str, Any]) -> str:
    """Every task of every DAG, with its recipe and a TODO for the assets it writes."""
    lines = [
        '"""Observe: the assets each Airflow task writes. Fill each TODO with AssetSpecs; a task left',
        "empty is not mapped. The comment on each task is its recipe from `airlift-tutorial assess`: what",
        'it becomes in Dagster when you migrate it, and whether it can be proxied on its own."""',
        "",
        "from dagster import AssetSpec  # noqa: F401 (for the AssetSpecs you add)",
        "from dagster_airlift.core import assets_with_task_mappings",
        "",
        "# DAG id -> task id -> the assets the task writes,",
        '# e.g. [AssetSpec("customers", deps=["raw_customers"])]',
        "TASK_ASSETS = {",
    ]
    for dag in plan["dags"]:
        about = f"{dag['dag_id']}: {dag['how_to_migrate']}"
        about += f"; time-window partitions: {dag['time_partitions_why']}"
        lines += _comment(about, "    ")
        lines.append(f"    {_py(dag['dag_id'])}: {{")
        for task in dag["tasks"]:
            recipe = task["recipe"]
            about = (
                f"{task['operator_name']} -> {recipe['key']} (proxied alone: {recipe['alone']}): "
                f"{recipe['dagster']}"
            )
            if task.get("outlets"):
                about += f". Airflow says it writes: {', '.join(task['outlets'])}"
            lines += _comment(about, "        ")
            lines.append(f"        {_py(task['task_id'])}: [],  # TODO: the assets it writes")
        lines.append("    },")
    lines += [
        "}",
        "",
        "mapped_assets = [",
        "    asset",
        "    for dag_id, tasks in TASK_ASSETS.items()",
        "    for asset in assets_with_task_mappings(",
        "        dag_id=dag_id, task_mappings={task: specs for task, specs in tasks.items() if specs}",
        "    )",
        "]",
        "",
    ]
    return "\n".join(lines)


def readme_md(plan: dict[str, Any], table: str) -> str:
    """Next steps, and the assessment the project was made from."""
    counts = plan["counts"]
    return f"""# Migrating {plan["source"]} to Dagster

Made by `airlift-tutorial scaffold`: {counts["dags"]} DAG(s), {counts["tasks"]} task(s). Every file here is
yours to edit; running the scaffold again rewrites only the files you have not changed.

## Next steps

1. **Peer.** Point `definitions.py` at your Airflow 2 and open Dagster:
   `{env_vars.AIRFLOW_URL}=... {env_vars.AIRFLOW_USERNAME}=... {env_vars.AIRFLOW_PASSWORD}=... dagster dev
   -f definitions.py` (from this folder). Each DAG shows up as an asset; a successful DAG run materializes it.
2. **Observe.** In `task_mappings.py`, list the assets each task writes (`AssetSpec`s, with their `deps`).
   The comments say what each task becomes in Dagster.
3. **Migrate.** Build each mapped task's assets as real Dagster assets (the recipe names how), then copy
   `proxied_state/` next to your DAG files, end each DAG file with
   `proxying_to_dagster(global_vars=globals(), proxied_state=load_proxied_state_from_yaml(...))` and flip
   `proxied: false` to `true` one task at a time. Tasks marked "proxied alone: no" stay in Airflow until the
   whole DAG moves (DAG-level migration).
4. **Decommission.** When every task of a DAG is proxied and Dagster schedules its assets, remove the DAG from
   Airflow.

## The assessment

```text
{table}
```
"""


def _files(plan: dict[str, Any], proxied_state: dict[str, bytes], table: str) -> dict[str, bytes]:
    files = {
        "definitions.py": definitions_py(plan["source"], plan.get("dataset_key_collisions")).encode(),
        "task_mappings.py": task_mappings_py(plan).encode(),
        "README.md": readme_md(plan, table).encode(),
    }
    files.update({f"proxied_state/{name}": data for name, data in sorted(proxied_state.items())})
    return files


def proxied_state_yaml(dag: dict[str, Any]) -> bytes:
    """A DAG's proxied state, every task `proxied: false`, as upstream's `dagster-airlift proxy scaffold`
    writes it (tasks in alphabetical order), for a DAG read over REST, where there is no DagBag to give it."""
    tasks = [{"id": task_id, "proxied": False} for task_id in sorted(t["task_id"] for t in dag["tasks"])]
    return yaml.dump({"tasks": tasks}).encode()


def scaffold(folder: Path, into: Path) -> Scaffolded:
    """Assess `folder` and write the project into `into` (see the module's docstring for the rules)."""
    into = into.expanduser().absolute()
    ours = _check_target(into)
    with tempfile.TemporaryDirectory(prefix="airlift-scaffold-") as scratch:
        report = assess.read_folder(folder, proxied_state_into=Path(scratch))
        plan = assess.plan(report, str(folder.expanduser().resolve()))
        states = {path.name: path.read_bytes() for path in (Path(scratch) / "proxied_state").glob("*.yaml")}
    return _write(into, ours, plan, states)


def scaffold_from_airflow(url: str, user: str, password: str, into: Path) -> Scaffolded:
    """The same project for the DAGs of a running Airflow 2, read over its REST API (GET only)."""
    into = into.expanduser().absolute()
    ours = _check_target(into)
    plan = assess.assess_airflow(url, user, password)
    states = {f"{dag['dag_id']}.yaml": proxied_state_yaml(dag) for dag in plan["dags"]}
    return _write(into, ours, plan, states)


def _write(into: Path, ours: dict[str, str], plan: dict[str, Any], states: dict[str, bytes]) -> Scaffolded:
    files = _files(plan, states, assess.table(plan))
    done = Scaffolded(into, plan=plan)
    manifest = dict(ours)
    into.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        target = into / name
        if target.exists() and name in ours and _digest(target.read_bytes()) != ours[name]:
            done.kept.append(name)  # the learner's edit wins
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        manifest[name] = _digest(data)
        done.written.append(name)
    record = {
        "source": plan["source"],
        "dag_ids": [dag["dag_id"] for dag in plan["dags"]],
        "files": dict(sorted(manifest.items())),
    }
    (into / MANIFEST).write_text(json.dumps(record, indent=2) + "\n")
    return done
