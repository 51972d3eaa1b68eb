"""The workspace: one folder that holds every piece of state of one learner's workbench."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutorial_lib import env_vars, learner_project, stages
from tutorial_lib.errors import LearnerError

REPO_ROOT = Path(__file__).resolve().parent.parent
LAYOUT_VERSION = 1
HOME_ENV = env_vars.HOME
MARKER = ".airlift-tutorial-workspace"
# What the workbench creates at a workspace's top level: the only entries `reset` may delete.
CREATED = (
    "airflow",
    "dagster",
    "dags",
    "project",
    "data",
    "dbt",
    "bin",
    "logs",
    "secrets",
    "state.json",
    "state.lock",
    "your-dags",
)
KEPT_BY_RESET = ("backups", "runs", MARKER)


class WorkspaceError(LearnerError, RuntimeError):
    """A workspace problem the learner can fix; the message says how."""


def disk_full(home: Path) -> str:
    """What to tell a learner whose workspace's disk is full: how full, and what to free."""
    try:
        usage = shutil.disk_usage(home)
        left = f" ({usage.free // 2**20} MB free of {usage.total // 2**30} GB)"
    except OSError:
        left = ""
    return (
        f"The disk that holds the workspace {home} is full{left}. Free some space on it: your own files "
        f"first, then the workbench's old notebook runs in {home / 'runs'}; `df -h {home}` shows how much "
        "is left."
    )


def default_home() -> Path:
    """The workspace folder: `$AIRLIFT_TUTORIAL_HOME`, else `.workbench/` at the repo root."""
    return Path(os.environ.get(HOME_ENV) or REPO_ROOT / ".workbench").resolve()


YOUR_DAGS_KEY = "your_dags"  # state: {"project": folder, "source": DAG folder, "dag_ids": [...]}


@dataclass(frozen=True)
class Workspace:
    """Paths of one workspace; `ensure()` creates what is missing."""

    home: Path = field(default_factory=default_home)

    def __post_init__(self) -> None:
        object.__setattr__(self, "home", Path(self.home).expanduser().resolve())

    @classmethod
    def of(cls, where: Workspace | str | Path | None = None) -> Workspace:
        """`where` itself if it is a Workspace already, else the workspace at that folder (or the default)."""
        if isinstance(where, Workspace):
            return where
        return cls(Path(where)) if where else cls()

    airflow_home = property(lambda self: self.home / "airflow")
    dagster_home = property(lambda self: self.home / "dagster")
    dags_dir = property(lambda self: self.home / "dags")
    proxied_state_dir = property(lambda self: self.home / "dags" / "proxied_state")
    project_dir = property(lambda self: self.home / "project")  # the learner's Dagster project
    # A throw-away workspace inside this one, whose Airflow loads a copy of the learner's own DAG folder and
    # whose Dagster loads their scaffolded project (`airlift-tutorial peer-project`).
    your_dags_home = property(lambda self: self.home / "your-dags")
    definitions_dir = property(lambda self: self.home / "project" / "dagster_defs")
    data_dir = property(lambda self: self.home / "data")
    dbt_dir = property(lambda self: self.home / "dbt")
    logs_dir = property(lambda self: self.home / "logs")
    runs_dir = property(lambda self: self.home / "runs")
    backups_dir = property(lambda self: self.home / "backups")
    secrets_dir = property(lambda self: self.home / "secrets")
    tmp_dir = property(lambda self: self.home / "tmp")  # the services' TMPDIR
    state_file = property(lambda self: self.home / "state.json")
    duckdb_path = property(lambda self: self.home / "data" / "jaffle_shop.duckdb")
    customers_csv = property(lambda self: self.home / "data" / "customers.csv")
    raw_customers_csv = property(lambda self: self.home / "data" / "raw_customers.csv")

    def log_file(self, service: str) -> Path:
        """The log file a service writes its stdout and stderr to."""
        return self.logs_dir / f"{service}.log"

    @property
    def is_marked(self) -> bool:
        """Whether the workbench made this folder a workspace (its marker, or an older one's state file)."""
        if (self.home / MARKER).is_file():
            return True
        try:
            return "layout_version" in json.loads((self.home / "state.json").read_text())
        except (OSError, ValueError, TypeError):
            return False

    def check_not_a_file(self) -> None:
        """Refuse a workspace path that names a file."""
        if self.home.exists() and not self.home.is_dir():
            raise WorkspaceError(
                f"The workspace {self.home} is a file, not a folder. Give --home (or ${HOME_ENV}) the path "
                "of a new or empty folder instead."
            )

    def claim(self) -> None:
        """Make the folder a workspace: create it, or take it if empty; refuse anything else, naming the fix.

        A folder it creates is private (0700: on a shared host, a learner's data and DAGs are theirs alone);
        an existing folder's permissions are left as they are.
        """
        home = self.home
        self.check_not_a_file()
        if not home.exists():
            try:
                home.mkdir(parents=True, mode=0o700)
            except OSError as exc:
                raise WorkspaceError(
                    f"Cannot create the workspace folder {home}: {exc.strerror or exc}. Choose a folder you "
                    f"can write to with --home (or ${HOME_ENV}), e.g. ~/airlift-workbench."
                ) from exc
        elif not self.is_marked:
            foreign = sorted(child.name for child in home.iterdir())
            if foreign:
                shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
                raise WorkspaceError(
                    f"{home} already holds files the workbench did not create ({shown}), so it will not "
                    f"use it as a workspace: `reset` would delete what it made there. Give --home (or "
                    f"${HOME_ENV}) a new or empty folder instead, e.g. {home / 'airlift-workbench'}."
                )
        if not os.access(home, os.W_OK | os.X_OK):
            raise WorkspaceError(
                f"The workspace folder {home} is not writable for you. Choose a folder you can write to "
                f"with --home (or ${HOME_ENV}), e.g. ~/airlift-workbench."
            )
        marker = home / MARKER
        if not marker.exists():
            marker.write_text(
                "This folder is an airlift-tutorial workspace. `airlift-tutorial reset` deletes only what\n"
                f"the workbench created here: {', '.join(CREATED)}.\n"
            )

    def remove_created(self) -> list[str]:
        """Delete what the workbench created here (not backups or runs); return what else is left.

        Refuses a folder that is not a workspace, so that a wrong --home never loses anybody's files.
        """
        if not self.home.exists():
            return []
        if not self.home.is_dir() or not self.is_marked:
            self.claim()  # raises with the reason and the fix unless the folder is empty
            return []
        for name in CREATED:
            path = self.home / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
        for leftover in self.home.glob(".state.*.tmp"):  # from a writer that died mid-write
            leftover.unlink()
        return sorted(c.name for c in self.home.iterdir() if c.name not in (*CREATED, *KEPT_BY_RESET))

    def ensure(self) -> Workspace:
        """Create the folder layout, copy the tutorial's DAGs and data in, and check the layout version."""
        self.claim()
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
        if not self.definitions_dir.exists():
            self.install_definitions()
        if not self.raw_customers_csv.exists():
            shutil.copyfile(REPO_ROOT / "airflow_dags" / "data" / "raw_customers.csv", self.raw_customers_csv)
        (self.dagster_home / "dagster.yaml").touch()
        if version is None:
            self.update_state(layout_version=LAYOUT_VERSION, stage=state.get("stage", stages.FIRST.name))
        return self

    def install_definitions(self) -> None:
        """Write the learner's project from the committed `dagster_defs/`, every exercise a starter: the
        definitions Dagster loads and the learner edits (a read-only checkout stays untouched)."""
        learner_project.install(self.definitions_dir)

    def backup_project(self) -> Path | None:
        """Copy the workspace's project (the learner's definitions) to `backups/<time>/project`, or None."""
        if not self.project_dir.exists():
            return None
        backup = self.backups_dir / time.strftime("%Y%m%d-%H%M%S") / "project"
        shutil.copytree(self.project_dir, backup, ignore=shutil.ignore_patterns("__pycache__"))
        return backup

    def backup_dags(self) -> Path | None:
        """Copy the DAG folder (the learner's edits) to `backups/<time>/dags`; return where, or None."""
        if not self.dags_dir.exists():
            return None
        backup = self.backups_dir / time.strftime("%Y%m%d-%H%M%S") / "dags"
        shutil.copytree(
            self.dags_dir, backup, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True
        )
        return backup

    def install_dags(self) -> None:
        """Write the DAG files from the committed `airflow_dags/`, every exercise a starter. Their proxied
        state is not there yet: the learner scaffolds it in the migrate stage."""
        self.dags_dir.mkdir(parents=True, exist_ok=True)
        learner_project.DAGS.install(self.dags_dir)

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

    @contextmanager
    def state_lock(self) -> Iterator[None]:
        """Hold the workspace's state lock: writers (kernel, CLI, Dagster's code location) take turns."""
        with open(self.home / "state.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def your_dags(self) -> dict[str, Any] | None:
        """In a `your_dags_home` workspace: the scaffolded project, its DAG folder and DAG ids; else None."""
        return self.read_state().get(YOUR_DAGS_KEY)

    def modify_state(self, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Read the state, let `change` edit it, write it back atomically, all under the lock; return it."""
        with self.state_lock():
            state = self.read_state()
            change(state)
            tmp = self.state_file.with_name(f".state.{os.getpid()}.tmp")
            try:
                tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
                os.replace(tmp, self.state_file)
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise WorkspaceError(
                        f"{disk_full(self.home)} It happened while saving the workbench's state: "
                        f"{self.state_file.name} still holds the state from before, and nothing you wrote "
                        "is lost. Once there is room, run the cell (or command) again."
                    ) from exc
                raise
        return state

    def update_state(self, **changes: Any) -> dict[str, Any]:
        """Merge top-level keys into the state file (see `modify_state`) and return the new state."""
        return self.modify_state(lambda state: state.update(changes))

    def secret(self, name: str) -> str:
        """A per-workspace secret, generated at first use and stored with mode 0600."""
        self.secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.secrets_dir / name
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(18))
        return path.read_text().strip()
