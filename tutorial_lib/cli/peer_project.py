"""`airlift-tutorial peer-project DIR [--run DAG_ID]`: a scaffolded project, peered live.

A throw-away workspace inside the learner's (`your-dags/`) gets a copy of the DAG folder the project was made
from (so the learner's folder is never touched), its own Airflow to load it and its own Dagster to load the
project's `definitions.py`. It then checks that Dagster shows each DAG as an asset and, with `--run`, triggers
one DAG and waits until Dagster has mirrored the run as a materialization of that DAG's asset.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from tutorial_lib import env_vars, services
from tutorial_lib.cli import scaffold
from tutorial_lib.errors import LearnerError
from tutorial_lib.workspace import YOUR_DAGS_KEY, Workspace


class PeerProjectError(LearnerError):
    """The project cannot be peered; the message says why and what to do."""


@dataclass
class Peered:
    """What the live peer showed."""

    home: Path
    dag_ids: list[str]
    dag_assets: list[str]
    links: dict[str, str]
    ran: dict[str, str] = field(default_factory=dict)  # dag_id, run_id, state, asset, seconds

    @property
    def shown(self) -> set[str]:
        """The DAG ids Dagster shows an asset for."""
        return {key.split("/", 2)[-1] for key in self.dag_assets}

    @property
    def extra(self) -> list[str]:
        """DAGs Dagster shows that `assess` could not import (files that read Airflow's database while
        parsed import in an Airflow that has one)."""
        return sorted(self.shown - set(self.dag_ids))

    @property
    def missing(self) -> list[str]:
        """DAGs that `assess` found but Dagster does not show."""
        return sorted(set(self.dag_ids) - self.shown)

    def summary(self) -> str:
        """For the terminal."""
        lines = [
            f"Dagster shows a DAG asset for {len(self.dag_ids) - len(self.missing)} of the "
            f"{len(self.dag_ids)} DAG(s) `assess` found"
            + (f"; missing: {', '.join(self.missing)}." if self.missing else ".")
        ]
        if self.extra:
            shown = ", ".join(self.extra[:5]) + (", ..." if len(self.extra) > 5 else "")
            lines.append(
                f"And {len(self.extra)} more from files that read Airflow's database while parsed, which "
                f"`assess` lists as import errors: {shown}."
            )
        if self.ran:
            lines.append(
                f"DAG run {self.ran['run_id']} of {self.ran['dag_id']}: {self.ran['state']}; Dagster "
                f"recorded it as a materialization of {self.ran['asset']} {self.ran['seconds']} s after it "
                "ended."
            )
        lines.append(f"Airflow: {self.links['airflow']}  Dagster: {self.links['dagster']}")
        lines.append(
            f"Stop them with `airlift-tutorial --home {self.home} down` (or `down` on your workspace)."
        )
        return "\n".join(lines)


def _copy_dags(source: Path, into: Path) -> None:
    """The learner's DAG folder, copied whole (Airflow imports it: bytecode and all stay in the copy)."""
    if into.exists():
        shutil.rmtree(into)
    shutil.copytree(source, into, ignore=shutil.ignore_patterns("__pycache__", ".git"), symlinks=True)


def peer(project: Path, ws: Workspace, run: str | None = None, *, show: bool = True) -> Peered:
    """Start (or reuse) the throw-away Airflow and Dagster for the project; check and optionally run a DAG."""
    project = project.expanduser().resolve()
    manifest = scaffold.read_manifest(project)
    if not manifest:
        raise PeerProjectError(
            f"{project} is not a project `airlift-tutorial scaffold` made (no {scaffold.MANIFEST}). Make one "
            "with `airlift-tutorial scaffold DAGS_FOLDER --into DIR`."
        )
    if "://" in manifest["source"]:
        raise PeerProjectError(
            f"{project} was made from the running Airflow at {manifest['source']}, which it peers itself: "
            f"run `dagster dev -f definitions.py` in {project} with that Airflow's address and login in "
            f"{env_vars.AIRFLOW_URL}, {env_vars.AIRFLOW_USERNAME} and {env_vars.AIRFLOW_PASSWORD}."
        )
    source = Path(manifest["source"])
    if not source.is_dir():
        raise PeerProjectError(f"The DAG folder {source} the project was made from is gone.")
    if run is not None and run not in manifest["dag_ids"]:
        raise PeerProjectError(f"No DAG {run!r} in {source}. Its DAGs: {', '.join(manifest['dag_ids'][:10])}")
    ws.ensure()
    inner = Workspace(ws.your_dags_home)
    wanted = {"project": str(project), "source": str(source), "dag_ids": manifest["dag_ids"]}
    if inner.state_file.exists() and inner.your_dags() != wanted:
        services.down(inner)  # another project or folder: start over
    inner.ensure()
    if inner.your_dags() != wanted or not services.status(inner)["services"].get("airflow", {}).get(
        "running"
    ):
        _copy_dags(source, inner.dags_dir)
        inner.modify_state(lambda state: state.update({YOUR_DAGS_KEY: wanted}))
    running = services.up(inner, show=show)
    prefix = f"{scaffold.INSTANCE_NAME}/dag/"
    dag_assets = [key for key in running.dagster.asset_keys() if key.startswith(prefix)]
    result = Peered(inner.home, manifest["dag_ids"], dag_assets, services.ui_links(inner))
    if run is not None:
        running.airflow.request("PATCH", f"dags/{run}", json={"is_paused": False})
        started = time.time()
        run_id = running.airflow.trigger(run)
        dag_run = running.airflow.wait_for_run(run, run_id, show=show)
        key = f"{prefix}{run}"
        seen = running.dagster.wait_for_materializations([key], after=started - 1, show=show)[key]
        result.ran = {
            "dag_id": run,
            "run_id": run_id,
            "state": dag_run.state,
            "asset": key,
            "seconds": f"{max(0.0, seen.timestamp - dag_run.ended_at):.1f}",
        }
    return result
