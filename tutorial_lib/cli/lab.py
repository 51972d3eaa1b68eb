"""`airlift-tutorial lab`: JupyterLab on the repository, as a learner opens it, with working terminals.

A JupyterLab terminal runs a shell with the server's environment. Started from the venv's `jupyter` without
activating the venv, that shell does not find `airlift-tutorial`, `airflow` or `dagster`: the venv's `bin/`
goes first on its PATH here. And a server without a terminal of its own (started in the background, or by a
hub's spawner) runs a login shell, whose /etc/profile sets PATH anew (Debian's does): the shell is named here,
which jupyter-server-terminals then starts as it is. As root (many workshop VMs and containers), Jupyter
refuses to start unless told `--allow-root`. And JupyterLab asks, in a pop-up over the notebook, whether to
fetch Jupyter's news from the internet: the environment's settings answer "never" (`quiet_lab`).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tutorial_lib.workspace import REPO_ROOT

BIN = Path(sys.executable).parent
FIRST_NOTEBOOK = "notebooks/01_peer.ipynb"


def environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The server's environment: the venv's commands first on PATH, for the server and its terminals."""
    env = dict(os.environ if base is None else base)
    path = [entry for entry in env.get("PATH", "").split(os.pathsep) if entry and entry != str(BIN)]
    env["PATH"] = os.pathsep.join([str(BIN), *path])
    env["VIRTUAL_ENV"] = str(BIN.parent)
    return env


# JupyterLab's defaults for every user of this environment: no news fetched, no pop-up asking.
OVERRIDES = BIN.parent / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
QUIET = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}


def quiet_lab(path: Path = OVERRIDES) -> None:
    """Add the no-news defaults to the environment's JupyterLab overrides, keeping any other setting there."""
    try:
        settings = json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        return  # someone's hand-edited file that does not parse: left alone
    if all(settings.get(plugin, {}).items() >= values.items() for plugin, values in QUIET.items()):
        return
    for plugin, values in QUIET.items():
        settings[plugin] = {**settings.get(plugin, {}), **values}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2) + "\n")


def shell() -> str:
    """The terminals' shell: the user's, else bash, else sh; interactive, not a login shell."""
    for candidate in (os.environ.get("SHELL"), "/bin/bash", "/bin/sh"):
        if candidate and Path(candidate).exists():
            return candidate
    return "sh"


def command(
    root_dir: Path = REPO_ROOT, *, extra: Sequence[str] = (), open_notebook: bool = True
) -> list[str]:
    """The `jupyter lab` command line: 127.0.0.1, the repository, hidden folders (the workspace) shown."""
    argv = [
        str(BIN / "jupyter"),
        "lab",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={root_dir}",
        "--ContentsManager.allow_hidden=True",
    ]
    argv.append(f"--ServerApp.terminado_settings=shell_command={shell()}")
    if open_notebook:
        argv.append(f"--LabApp.default_url=/lab/tree/{FIRST_NOTEBOOK}")
    if os.geteuid() == 0:
        argv.append("--allow-root")
    return [*argv, *extra]


def run(extra: Sequence[str] = ()) -> int:
    """Start JupyterLab in the foreground (Ctrl+C stops it); the exit code of Jupyter."""
    argv = command(extra=extra)
    quiet_lab()
    os.execve(argv[0], argv, environment())
    return 0  # not reached: execve replaces this process
