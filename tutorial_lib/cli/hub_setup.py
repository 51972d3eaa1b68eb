"""`airlift-tutorial hub-setup`: once, as root, make this checkout usable by every learner of a JupyterHub.

A hub starts each learner's Jupyter in its own environment (TLJH's /opt/tljh/user, or the admin's), not in
`.venv`, and a hub's terminals are login shells, whose /etc/profile sets PATH anew: a PATH set by the spawner
does not reach them. So the kernel goes where every Jupyter on the host looks
(`<prefix>/share/jupyter/kernels`), and the command goes into `<prefix>/bin`, which /etc/profile keeps. Both
default to /usr/local. The checkout is made read-only for learners. Each step says what it did; a file in
the way that the workbench did not write is left alone and named.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tutorial_lib.workspace import REPO_ROOT

KERNEL_NAME = "airlift-tutorial"
COMMAND = "airlift-tutorial"
CONFIG = REPO_ROOT / "tutorial_lib" / "in_hub" / "jupyterhub_config.py"
# What learners read and run; a workspace in the checkout (`.workbench`, CI's) holds secrets and is left
# alone.
SHARED_PARTS = (
    ".venv",
    "tutorial_lib",
    "notebooks",
    "docs",
    "dagster_defs",
    "airflow_dags",
    "dbt_project",
    "customers_pipeline",
    "tools",
    "benchmarks",
    "tests",
)


class HubSetupError(Exception):
    """A step that cannot be done, with the reason and the fix."""


@dataclass
class Step:
    """One step: what it is and what it found or did."""

    name: str
    done: str

    def line(self) -> str:
        """The step as a line of output."""
        return f"  {self.name}: {self.done}"


def python() -> Path:
    """The environment's interpreter, as learners run it."""
    return REPO_ROOT / ".venv" / "bin" / "python"


def install_kernel(prefix: Path) -> Step:
    """The notebooks' kernel, for every Jupyter on the host."""
    folder = prefix / "share" / "jupyter" / "kernels" / KERNEL_NAME
    spec = folder / "kernel.json"
    if spec.exists():
        argv = json.loads(spec.read_text()).get("argv", [""])
        if argv[0] != str(python()):
            raise HubSetupError(
                f"{spec} is another environment's kernel (it runs {argv[0]}). Remove it if it is an old copy "
                f"of this workbench, or pass --prefix to install somewhere else."
            )
    subprocess.run(
        [str(python()), "-m", "ipykernel", "install", "--prefix", str(prefix), "--name", KERNEL_NAME,
         "--display-name", KERNEL_NAME],
        check=True, capture_output=True,
    )  # fmt: skip
    for path in (folder, *folder.iterdir()):
        path.chmod(path.stat().st_mode | stat.S_IRGRP | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0))
    return Step("kernel", f"{spec} runs {python()}")


def link_command(prefix: Path) -> Step:
    """`airlift-tutorial` on every learner's PATH, login shells included."""
    target = REPO_ROOT / ".venv" / "bin" / COMMAND
    link = prefix / "bin" / COMMAND
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return Step("command", f"{link} -> {target} (already there)")
    if link.exists() or link.is_symlink():
        raise HubSetupError(
            f"{link} is already there and is not this workbench's link. Remove it if it is an old copy, or "
            "pass --prefix to install somewhere else."
        )
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)
    return Step("command", f"{link} -> {target}")


def make_read_only(repo: Path = REPO_ROOT) -> Step:
    """Learners may read and run the checkout, never change it."""
    changed = 0
    parts = [repo / part for part in SHARED_PARTS if (repo / part).exists()]
    files = [path for path in repo.iterdir() if path.is_file()]
    for top in [*parts, *files]:
        for path in [top, *top.rglob("*")] if top.is_dir() else [top]:
            if path.is_symlink():
                continue
            mode = stat.S_IMODE(path.lstat().st_mode)
            wanted = (mode & ~0o022) | 0o044 | (0o011 if path.is_dir() or mode & 0o100 else 0)
            if wanted != mode:
                path.chmod(wanted)
                changed += 1
    top_mode = stat.S_IMODE(repo.stat().st_mode)
    if top_mode & 0o022 or (top_mode & 0o005) != 0o005:
        repo.chmod((top_mode & ~0o022) | 0o055)
        changed += 1
    return Step("checkout", f"readable by all, writable only by its owner ({changed} mode(s) changed)")


def blocked_ancestor(path: Path) -> Path | None:
    """A folder above `path` that other users cannot pass, if any."""
    return next((p for p in reversed(path.resolve().parents) if not p.stat().st_mode & stat.S_IXOTH), None)


def setup(prefix: Path) -> list[Step]:
    """Every step, in order; raises HubSetupError naming what stopped it."""
    if os.geteuid() != 0:
        raise HubSetupError("hub-setup changes files outside your home: run it as root (sudo).")
    blocked = blocked_ancestor(python()) or blocked_ancestor(Path(os.path.realpath(python())))
    if blocked is not None:
        raise HubSetupError(
            f"Learners cannot reach {python()} ({blocked} is private). Put the checkout where every user can "
            "read it (e.g. /opt/airlift-tutorial), and build .venv on a Python they can run: "
            "`rm -rf .venv && make install` picks one."
        )
    return [make_read_only(), install_kernel(prefix), link_command(prefix)]


def include_hint() -> str:
    """How to include the hub configuration, for a plain JupyterHub and for TLJH."""
    return (
        "Then include the workbench's hub configuration:\n"
        f"  JupyterHub: add to jupyterhub_config.py   load_subconfig({str(CONFIG)!r})\n"
        f"  TLJH:       ln -s {CONFIG} /opt/tljh/config/jupyterhub_config.d/airlift-tutorial.py\n"
        "              then `sudo tljh-config reload`\n"
        "and check the host as a learner sees it: "
        f"{REPO_ROOT / '.venv' / 'bin' / COMMAND} doctor --learners N"
    )


def run(prefix: Path) -> int:
    """The command: the steps, then what to include."""
    try:
        steps = setup(prefix)
    except (HubSetupError, subprocess.CalledProcessError, OSError) as exc:
        print(f"airlift-tutorial hub-setup: {exc}", file=sys.stderr)
        return 2
    print("Set up for every user of this host:")
    print("\n".join(step.line() for step in steps))
    print(include_hint())
    return 0
