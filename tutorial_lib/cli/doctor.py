"""Instructor preflight: can this host run the workbench for N learners? A pass/fail list with fixes."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import math
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
# (README, "Figures": 987 MB, the highest of three runs on 2026-12-06), and of their Jupyter server at a hub
# (`make room`: 94 MB).
MEMORY_PER_LEARNER_MB = 1000
JUPYTER_SERVER_MB = 95
DISK_PER_LEARNER_MB = 300
# `make room` (2026-12-06, 2 cores): the peer stage from cold takes 35 s alone and 36 busy CPU seconds; three
# learners at once took 64-67 s each, i.e. the cores were busy 83% of the time (3 x 36 s / (2 cores x 65 s)).
STAGE_ALONE_S = 35
STAGE_CPU_S = 36
ROOM_CPU_EFFICIENCY = 0.83
# Beyond this slowdown, with every learner running a stage at the same moment, the cpu check warns.
SLOWDOWN_WARNING = 3.0
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


def memory_per_learner(hub: bool) -> int:
    """MB of PSS one learner needs at the peak: workspace and kernel, plus their Jupyter server at a hub."""
    return MEMORY_PER_LEARNER_MB + (JUPYTER_SERVER_MB if hub else 0)


def check_memory(learners: int, hub: bool = False) -> Check:
    """Available memory for N learners' services."""
    available = psutil.virtual_memory().available / 2**20
    each = memory_per_learner(hub)
    needed = learners * each
    return Check(
        "memory",
        available >= needed,
        f"{available / 1024:.1f} GB available; {learners} learner(s) need about {needed / 1024:.1f} GB "
        f"({each} MB each while their services and notebook run"
        + (", their Jupyter server included)" if hub else ")"),
        f"use a host with more memory, or at most {int(available // each)} learners here",
    )


def stage_seconds_at_once(learners: int, cores: int) -> float:
    """How long a stage takes for each of N learners who start it at the same moment (from `make room`)."""
    return max(STAGE_ALONE_S, learners * STAGE_CPU_S / (cores * ROOM_CPU_EFFICIENCY))


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
    """Enough cores that a stage run by everyone at once does not crawl (a warning, not a failure)."""
    cores = os.cpu_count() or 1
    seconds = stage_seconds_at_once(learners, cores)
    slowdown = seconds / STAGE_ALONE_S
    ok = slowdown <= SLOWDOWN_WARNING
    enough = host_needed(learners, hub=False)["cores"]
    return Check(
        "cpu",
        ok,
        f"{cores} cores for {learners} learner(s): a stage that takes {STAGE_ALONE_S} s alone takes about "
        f"{seconds:.0f} s ({slowdown:.1f}x) when all start it at the same moment",
        f"{enough} cores keep that under {SLOWDOWN_WARNING:.0f}x; or stagger the stages (learners rarely "
        "start one in the same second)",
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
        # A new workspace's definitions are the learner's starter (no assets until they write the peer
        # stage's code): the code location must load, whatever it holds.
        locations = running.dagster.locations()
        loaded = bool(locations) and all(
            loc["status"] == "LOADED" and not loc["error"] for loc in locations.values()
        )
        took = time.monotonic() - started
        ok = health["scheduler"]["status"] == "healthy" and bool(dags) and loaded
        state = "loaded" if loaded else f"not loaded: {locations}"
        found = f"up in {took:.0f} s; Airflow lists {len(dags)} DAG(s); Dagster's code location {state}"
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
        lambda: check_memory(learners, hub),
        lambda: check_disk(where, learners),
        lambda: check_cpu(learners),
        check_repo_files,
        check_ui_links,
    ]
    if services:
        checks.append(lambda: check_services(home))
    return [check() for check in checks] + check_as_learner(as_learner, hub)


def host_needed(learners: int, hub: bool) -> dict[str, float]:
    """The host a class of N needs, from the measured footprint and `make room`'s CPU figures."""
    cores = max(
        1, math.ceil(learners * STAGE_CPU_S / (ROOM_CPU_EFFICIENCY * SLOWDOWN_WARNING * STAGE_ALONE_S))
    )
    return {
        "learners": learners,
        "memory_gb": round(learners * memory_per_learner(hub) / 1024, 1),
        "cores": cores,
        "disk_gb": round(learners * DISK_PER_LEARNER_MB / 1024, 1),
        "stage_seconds_at_once": round(stage_seconds_at_once(learners, cores)),
    }


def host_line(needed: dict[str, float]) -> str:
    """The host a class needs, as a sentence."""
    return (
        f"A class of {needed['learners']} needs about {needed['memory_gb']} GB of memory free, "
        f"{needed['cores']} cores (a stage started by everyone at once then takes about "
        f"{needed['stage_seconds_at_once']} s, {STAGE_ALONE_S} s alone) and {needed['disk_gb']} GB of disk."
    )


def report(checks: list[Check], needed: dict[str, float] | None = None) -> dict[str, object]:
    """The checks as JSON-ready data."""
    passed = all(c.passed or c.warning for c in checks)
    return {
        "passed": passed,
        "checks": [asdict(c) for c in checks],
        **({"host_needed": needed} if needed else {}),
    }
