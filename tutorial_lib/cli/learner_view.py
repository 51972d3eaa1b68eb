"""The host as a learner sees it: can they run the interpreter, find the kernel and the command, make a
workspace?

Run as root (an instructor preparing a hub), every look is taken as another local user (`nobody` unless
named), with that user's own permissions and a login shell's PATH, as a hub's terminal has. Run as a
learner, as oneself. Root passes checks that a learner fails (the venv's Python under /root is one), so
root's view proves nothing about theirs.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tutorial_lib.workspace import REPO_ROOT

PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
COMMAND = REPO_ROOT / ".venv" / "bin" / "airlift-tutorial"
KERNEL_NAME = "airlift-tutorial"
DEFAULT_USER = "nobody"

# Run by the venv's Python as the learner: the kernels their Jupyter can find, and a workspace made in
# argv[1].
PROBE = r"""
import json, os, sys
from pathlib import Path
out = {"python": f"{sys.version.split()[0]} at {sys.executable}"}
try:
    from jupyter_core.paths import jupyter_path
    places = []
    for folder in jupyter_path("kernels"):
        spec = Path(folder) / sys.argv[2] / "kernel.json"
        if spec.is_file():
            argv0 = json.loads(spec.read_text())["argv"][0]
            places.append({"spec": str(spec), "runs": argv0, "runnable": os.access(argv0, os.X_OK),
                           "in_venv": folder.startswith(sys.prefix)})
    out["kernels"] = places
except Exception as exc:
    out["kernels_error"] = f"{type(exc).__name__}: {exc}"
try:
    from tutorial_lib.workspace import Workspace
    Workspace(Path(sys.argv[1])).ensure()
    out["workspace"] = "made"
except Exception as exc:
    out["workspace_error"] = f"{type(exc).__name__}: {exc}"
print(json.dumps(out))
"""


@dataclass
class LearnerView:
    """What a learner can do on this host, each with what was found."""

    user: str
    as_other_user: bool
    python_ok: bool
    python: str
    kernel_ok: bool
    kernel_warning: bool
    kernel: str
    command_ok: bool
    command: str
    workspace_ok: bool
    workspace: str


def _as(user: str | None, argv: list[str], home: str) -> list[str]:
    """`argv` run as `user` (with a clean environment), or as oneself when `user` is None."""
    env = ["env", "-i", f"HOME={home}", "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"]
    return [*env, *argv] if user is None else ["runuser", "-u", user, "--", *env, *argv]


def _kernel(places: list[dict], as_other_user: bool) -> tuple[bool, bool, str]:
    """(passed, only a warning, found) for the kernel, from where the probe found it."""
    shared = [p for p in places if not p["in_venv"]]
    venv = [p for p in places if p["in_venv"]]
    for place in shared:
        if place["runnable"]:
            return True, False, f"{place['spec']} (any Jupyter on the host finds it)"
    if shared:
        return False, False, f"{shared[0]['spec']} runs {shared[0]['runs']}, which this user cannot execute"
    if venv and venv[0]["runnable"]:
        if as_other_user:
            return (
                False,
                True,
                f"only in .venv ({venv[0]['spec']}): a hub's single-user Jupyter does not look there",
            )
        return True, False, f"{venv[0]['spec']} (for `make lab`, Jupyter from .venv)"
    return False, False, f"no kernel named {KERNEL_NAME!r} that this user's Jupyter finds"


def look(user: str | None = None) -> LearnerView:
    """Take every look as `user` (as root; default nobody), or as oneself."""
    as_other_user = os.geteuid() == 0
    if as_other_user:
        user = user or DEFAULT_USER
        entry = pwd.getpwnam(user)
    else:
        user, entry = None, pwd.getpwuid(os.geteuid())
    name = entry.pw_name
    scratch = Path(tempfile.mkdtemp(prefix="airlift-doctor-learner-"))
    try:
        if as_other_user:
            os.chown(scratch, entry.pw_uid, entry.pw_gid)
        probe = subprocess.run(
            _as(user, [str(PYTHON), "-c", PROBE, str(scratch / "workspace"), KERNEL_NAME], str(scratch)),
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        shell = shutil.which("bash") or "/bin/sh"
        found = subprocess.run(
            _as(user, [shell, "-lc", "command -v airlift-tutorial"], str(scratch)),
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    try:
        seen = json.loads(probe.stdout.strip().splitlines()[-1]) if probe.returncode == 0 else None
    except (ValueError, IndexError):
        seen = None
    if seen is None:
        error = (probe.stderr.strip().splitlines() or [f"exit {probe.returncode}"])[-1]
        stopped = f"cannot run {PYTHON}: {error}"
        return LearnerView(
            name, as_other_user, False, stopped, False, False, stopped, False, stopped, False, stopped
        )
    kernel_ok, kernel_warning, kernel = _kernel(seen.get("kernels", []), as_other_user)
    if "kernels_error" in seen:
        kernel = seen["kernels_error"]
    where = found.stdout.strip()
    command_ok = bool(where) and Path(where).resolve() == COMMAND.resolve()
    if not where:
        command = "not found on a login shell's PATH (a hub terminal's)"
    elif command_ok:
        command = f"{where} (this workbench's)"
    else:
        command = f"{where} is another program, not {COMMAND}"
    workspace_ok = seen.get("workspace") == "made"
    workspace = "a new workspace can be made" if workspace_ok else seen.get("workspace_error", "not made")
    return LearnerView(
        name, as_other_user, True, seen["python"], kernel_ok, kernel_warning, kernel,
        command_ok, command, workspace_ok, workspace,
    )  # fmt: skip


if __name__ == "__main__":
    print(look(sys.argv[1] if len(sys.argv) > 1 else None))
