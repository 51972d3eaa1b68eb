"""Instructor preflight: can this host run the workbench for N learners? A pass/fail list with fixes."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from tutorial_lib.cli import learner_view
from tutorial_lib.services import jupyter_proxy
from tutorial_lib.workspace import REPO_ROOT, Workspace, WorkspaceError

# Footprint of one learner's workspace: peak PSS of its services and notebook kernel during `make bench`
# (README, "Figures": 1285-1303 MB on 2026-12-05).
MEMORY_PER_LEARNER_MB = 1300
DISK_PER_LEARNER_MB = 300
LEARNERS_PER_CORE = 4
PACKAGES = (
    "apache-airflow",
    "dagster",
    "dagster-webserver",
    "dagster-airlift",
    "dagster-dbt",
    "dbt-core",
    "dbt-duckdb",
    "duckdb",
    "jupyterlab",
    "papermill",
)
KERNEL_NAME = "airlift-tutorial"


@dataclass
class Check:
    """One line of the preflight: what was checked, whether it passed, what was found, how to fix it."""

    name: str
    passed: bool
    found: str
    fix: str = ""
    warning: bool = False

    def line(self) -> str:
        """The check as one line of text (and its fix on the next one)."""
        mark = "PASS" if self.passed else ("WARN" if self.warning else "FAIL")
        text = f"{mark}  {self.name}: {self.found}"
        return text + (f"\n      fix: {self.fix}" if self.fix and not self.passed else "")


def check_python() -> Check:
    """The interpreter is the locked 3.11."""
    version = ".".join(map(str, sys.version_info[:3]))
    return Check(
        "python",
        sys.version_info[:2] == (3, 11),
        f"{version} at {sys.executable}",
        "run `make install`, which creates .venv with Python 3.11 from uv.lock",
    )


def check_packages() -> Check:
    """The tutorial's packages are installed."""
    found, missing = [], []
    for name in PACKAGES:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    return Check(
        "packages",
        not missing,
        f"missing: {', '.join(missing)}" if missing else ", ".join(found),
        "run `make install` (uv sync --frozen installs exactly the locked versions)",
    )


def check_kernel() -> Check:
    """The notebooks' Jupyter kernel is installed."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        return Check("jupyter kernel", False, f"no kernel named {KERNEL_NAME!r}", "run `make install`")
    return Check("jupyter kernel", True, f"{KERNEL_NAME} -> {spec.argv[0]}")


def check_tunings() -> Check:
    """The speed tunings are live (a stock fallback works, only slower: a warning)."""
    from tutorial_lib import tuning

    states = tuning.report()
    stock = {name: state for name, state in states.items() if state != "live"}
    if not stock:
        return Check("speed tunings", True, f"{len(states)} live")
    return Check(
        "speed tunings",
        False,
        "; ".join(f"{name}: {state}" for name, state in stock.items()),
        "install the locked versions (`make install`), or leave it: stock behaviour works, only slower",
        warning=True,
    )


def check_memory(learners: int) -> Check:
    """Available memory for N learners' services."""
    available = psutil.virtual_memory().available / 2**20
    needed = learners * MEMORY_PER_LEARNER_MB
    return Check(
        "memory",
        available >= needed,
        f"{available / 1024:.1f} GB available; {learners} learner(s) need about {needed / 1024:.1f} GB "
        f"({MEMORY_PER_LEARNER_MB} MB each while their services and notebook run)",
        f"use a host with more memory, or at most {int(available // MEMORY_PER_LEARNER_MB)} learners here",
    )


def check_disk(home: Path, learners: int) -> Check:
    """Free disk where the workspaces live."""
    where = home if home.exists() else next(p for p in home.parents if p.exists())
    free = shutil.disk_usage(where).free / 2**20
    needed = learners * DISK_PER_LEARNER_MB
    return Check(
        "disk",
        free >= needed,
        f"{free / 1024:.1f} GB free at {where}; {learners} learner(s) need about {needed / 1024:.1f} GB",
        "free disk space, or put workspaces elsewhere with --home / $AIRLIFT_TUTORIAL_HOME",
    )


def check_cpu(learners: int) -> Check:
    """Enough cores that runs do not crawl (a warning, not a failure)."""
    cores = os.cpu_count() or 1
    ok = learners <= cores * LEARNERS_PER_CORE
    return Check(
        "cpu",
        ok,
        f"{cores} cores for {learners} learner(s)",
        f"expect slow DAG runs beyond {cores * LEARNERS_PER_CORE} learners on {cores} cores; "
        "stagger the stages or add cores",
        warning=not ok,
    )


def check_repo_files() -> Check:
    """Nothing in the checkout is world-writable (learners on a shared host could change it)."""
    loose = [
        path
        for path in REPO_ROOT.rglob("*")
        if ".venv" not in path.parts
        and ".git" not in path.parts
        and not path.is_symlink()
        and path.stat().st_mode & stat.S_IWOTH
    ]
    return Check(
        "file permissions",
        not loose,
        f"{len(loose)} world-writable path(s), e.g. {loose[0]}" if loose else "nothing world-writable",
        f"chmod o-w -R {REPO_ROOT}",
    )


def check_ui_links() -> Check:
    """Where learners' UI links will point, and that jupyter-server-proxy is there when they go through it."""
    try:
        base = jupyter_proxy.server_base()
    except WorkspaceError as exc:
        return Check("ui links", False, str(exc), f"set {jupyter_proxy.SETTING} to auto, off, or a base path")
    if base is None:
        return Check(
            "ui links",
            True,
            "direct to 127.0.0.1:<port> (no JupyterHub here; "
            f"{jupyter_proxy.SETTING}=/ sends them through a plain Jupyter server)",
        )
    installed = importlib.util.find_spec("jupyter_server_proxy") is not None
    return Check(
        "ui links",
        installed,
        f"through jupyter-server-proxy at {base}proxy/absolute/<port>/"
        if installed
        else f"meant to go through {base}proxy/, but jupyter-server-proxy is not installed",
        "install jupyter-server-proxy where the Jupyter server runs (`make install` puts it in .venv), "
        f"or set {jupyter_proxy.SETTING}=off",
    )


def check_services(home: Path | None) -> Check:
    """Airflow and Dagster start, answer, and stop leaving nothing behind (in a throw-away workspace)."""
    from tutorial_lib import services

    scratch = home is None
    where = Path(tempfile.mkdtemp(prefix="airlift-doctor-")) if scratch else home
    started = time.monotonic()
    try:
        running = services.up(where, show=False)
        health = running.airflow.health()
        dags = running.airflow.dag_ids()
        assets = running.dagster.asset_keys()
        took = time.monotonic() - started
        ok = health["scheduler"]["status"] == "healthy" and bool(dags) and bool(assets)
        found = f"up in {took:.0f} s; Airflow lists {len(dags)} DAG(s), Dagster {len(assets)} asset(s)"
    except Exception as exc:  # the point is to report it, whatever it is
        ok, found = False, f"{type(exc).__name__}: {str(exc)[:600]}"
    finally:
        if scratch:
            services.down(where)
            left = services.workspace_processes(where)
            shutil.rmtree(where, ignore_errors=True)
            if left:
                ok, found = False, f"{found}; {len(left)} process(es) survived `down`: {left}"
    return Check(
        "services",
        ok,
        found,
        "read the message above and `airlift-tutorial logs airflow` / `logs dagster`; "
        "`airlift-tutorial reset` rebuilds a workspace",
    )


def check_as_learner(user: str | None, hub: bool) -> list[Check]:
    """The host as a learner sees it: as root, run as another local user; otherwise as oneself.

    What only a hub needs (the kernel where every Jupyter looks, the command on a login shell's PATH)
    fails with `--hub` and is a warning without it.
    """
    view = learner_view.look(user)
    who = f"as {view.user}"
    fix_python = (
        f"learners cannot run {learner_view.PYTHON}: put the checkout where every user can read it (e.g. "
        "/opt/airlift-tutorial) and rebuild .venv on a Python they can run: `rm -rf .venv && make install`"
    )
    checks = [Check(f"{who}: python", view.python_ok, view.python, fix_python)]
    checks.append(
        Check(
            f"{who}: kernel",
            view.kernel_ok,
            view.kernel,
            "run `sudo .venv/bin/airlift-tutorial hub-setup`, which installs the kernel where every "
            "Jupyter on the host looks (a hub's single-user Jupyter does not look in .venv)",
            warning=view.kernel_warning and not hub,
        )
    )
    checks.append(
        Check(
            f"{who}: command in a terminal",
            view.command_ok,
            view.command,
            "run `sudo .venv/bin/airlift-tutorial hub-setup` (links it into /usr/local/bin: a hub's "
            "terminals are login shells, whose /etc/profile resets PATH); without a hub, `make lab` or "
            "activate .venv",
            warning=not hub,
        )
    )
    checks.append(Check(f"{who}: workspace", view.workspace_ok, view.workspace, fix_python))
    return checks


def run_checks(
    learners: int, home: Path | None, *, services: bool, as_learner: str | None = None, hub: bool = False
) -> list[Check]:
    """Every preflight check, in order."""
    where = Workspace.of(home).home
    checks: list[Callable[[], Check]] = [
        check_python,
        check_packages,
        check_kernel,
        check_tunings,
        lambda: check_memory(learners),
        lambda: check_disk(where, learners),
        lambda: check_cpu(learners),
        check_repo_files,
        check_ui_links,
    ]
    if services:
        checks.append(lambda: check_services(home))
    return [check() for check in checks] + check_as_learner(as_learner, hub)


def report(checks: list[Check]) -> dict[str, object]:
    """The checks as JSON-ready data."""
    return {"passed": all(c.passed or c.warning for c in checks), "checks": [asdict(c) for c in checks]}
