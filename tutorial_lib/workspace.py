"""The workspace: one folder that holds every piece of state of one learner's workbench."""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
LAYOUT_VERSION = 1
HOME_ENV = "AIRLIFT_TUTORIAL_HOME"
STAGES = ("peer", "observe", "partitions", "migrate", "decommission")


class WorkspaceError(RuntimeError):
    """A workspace problem the learner can fix; the message says how."""


def default_home() -> Path:
    """The workspace folder: `$AIRLIFT_TUTORIAL_HOME`, else `.workbench/` at the repo root."""
    return Path(os.environ.get(HOME_ENV) or REPO_ROOT / ".workbench").resolve()


@dataclass(frozen=True)
class Workspace:
    """Paths of one workspace; `ensure()` creates what is missing."""

    home: Path = field(default_factory=default_home)

    def __post_init__(self) -> None:
        object.__setattr__(self, "home", Path(self.home).expanduser().resolve())

    airflow_home = property(lambda self: self.home / "airflow")
    dagster_home = property(lambda self: self.home / "dagster")
    dags_dir = property(lambda self: self.home / "dags")
    proxied_state_dir = property(lambda self: self.home / "dags" / "proxied_state")
    data_dir = property(lambda self: self.home / "data")
    dbt_dir = property(lambda self: self.home / "dbt")
    logs_dir = property(lambda self: self.home / "logs")
    runs_dir = property(lambda self: self.home / "runs")
    secrets_dir = property(lambda self: self.home / "secrets")
    state_file = property(lambda self: self.home / "state.json")
    duckdb_path = property(lambda self: self.home / "data" / "jaffle_shop.duckdb")
    customers_csv = property(lambda self: self.home / "data" / "customers.csv")
    raw_customers_csv = property(lambda self: self.home / "data" / "raw_customers.csv")

    def log_file(self, service: str) -> Path:
        """The log file a service writes its stdout and stderr to."""
        return self.logs_dir / f"{service}.log"

    def ensure(self) -> Workspace:
        """Create the folder layout, copy the tutorial's DAGs and data in, and check the layout version."""
        self.home.mkdir(parents=True, exist_ok=True)
        os.chmod(self.home, 0o755)
        state = self.read_state()
        version = state.get("layout_version")
        if version is not None and version != LAYOUT_VERSION:
            raise WorkspaceError(
                f"The workspace {self.home} has layout version {version}; this workbench uses "
                f"{LAYOUT_VERSION}. Run `airlift-tutorial reset` to rebuild it (your edited files are "
                "backed up first), or use a new folder with --home."
            )
        for folder in (
            self.airflow_home,
            self.dagster_home,
            self.data_dir,
            self.dbt_dir,
            self.logs_dir,
            self.runs_dir,
        ):
            folder.mkdir(parents=True, exist_ok=True)
        self.secrets_dir.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.secrets_dir, 0o700)
        if not self.dags_dir.exists():
            self.install_dags()
        if not self.raw_customers_csv.exists():
            shutil.copyfile(REPO_ROOT / "airflow_dags" / "data" / "raw_customers.csv", self.raw_customers_csv)
        (self.dagster_home / "dagster.yaml").touch()
        if version is None:
            self.update_state(layout_version=LAYOUT_VERSION, stage=state.get("stage", "peer"))
        return self

    def install_dags(self) -> None:
        """Copy the committed `airflow_dags/` into the workspace (DAG files, proxied state), replacing it."""
        if self.dags_dir.exists():
            shutil.rmtree(self.dags_dir)
        shutil.copytree(
            REPO_ROOT / "airflow_dags", self.dags_dir, ignore=shutil.ignore_patterns("__pycache__", "data")
        )

    def read_state(self) -> dict[str, Any]:
        """The state file's content, or {} when there is none yet."""
        try:
            return json.loads(self.state_file.read_text())
        except FileNotFoundError:
            return {}
        except json.JSONDecodeError as exc:
            raise WorkspaceError(
                f"The state file {self.state_file} is not valid JSON ({exc}). Stop anything still running "
                "with `airlift-tutorial down`, then delete the file; it is rebuilt at the next `up`."
            ) from exc

    def update_state(self, **changes: Any) -> dict[str, Any]:
        """Merge top-level keys into the state file (atomically) and return the new state."""
        state = self.read_state()
        state.update(changes)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
        os.replace(tmp, self.state_file)
        return state

    def secret(self, name: str) -> str:
        """A per-workspace secret, generated at first use and stored with mode 0600."""
        self.secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.secrets_dir / name
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(18))
        return path.read_text().strip()
