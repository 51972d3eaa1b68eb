"""The workbench's part of a JupyterHub configuration: include it, do not copy it.

A plain JupyterHub, at the end of its jupyterhub_config.py:

    load_subconfig("/opt/airlift-tutorial/tutorial_lib/in_hub/jupyterhub_config.py")

The Littlest JupyterHub reads every file in /opt/tljh/config/jupyterhub_config.d/, so link it there:

    ln -s /opt/airlift-tutorial/tutorial_lib/in_hub/jupyterhub_config.py \
        /opt/tljh/config/jupyterhub_config.d/airlift-tutorial.py

For every learner's server it sets AIRLIFT_TUTORIAL_HOME to a workspace in their own home (a callable, which
the spawner calls per user: a "{username}" in a plain string is not expanded). Before each spawn it makes the
learner's home private (0700), since useradd and adduser make homes other users can read, and has the learner
copy the notebooks into their home (run as the learner, so it writes only what they could; existing files are
kept). `airlift-tutorial hub-setup`, run once as root, puts the kernel and the command where every learner's
Jupyter and terminal find them.

It sets `c.Spawner.pre_spawn_hook`. A configuration with a hook of its own keeps both by setting it after the
include, calling ours first:

    load_subconfig(".../jupyterhub_config.py")
    airlift_hook = c.Spawner.pre_spawn_hook

    async def pre_spawn_hook(spawner):
        await airlift_hook(spawner)
        ...  # your own steps

    c.Spawner.pre_spawn_hook = pre_spawn_hook

Settings, as environment variables of the hub: AIRLIFT_HUB_PRIVATE_HOMES=0 leaves homes as they are;
AIRLIFT_HUB_COPY_NOTEBOOKS=0 leaves the copy to the learners (`airlift-tutorial notebooks`).
"""

import asyncio
import os
import pwd
import shutil
import stat
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]
COMMAND = CHECKOUT / ".venv" / "bin" / "airlift-tutorial"
WORKSPACE_FOLDER = "airlift-workbench"
NOTEBOOKS_FOLDER = "airlift-tutorial"
RUNUSER = shutil.which("runuser", path="/usr/sbin:/sbin:/usr/bin:/bin") or "runuser"


def _setting(name: str) -> bool:
    return os.environ.get(name, "1").strip().lower() not in ("0", "false", "no", "off")


def learner_home(spawner) -> str:
    """The learner's home folder, from the system's user database."""
    return pwd.getpwnam(spawner.user.name).pw_dir


def learner_workspace(spawner) -> str:
    """AIRLIFT_TUTORIAL_HOME for this learner: a folder in their own home."""
    return os.path.join(learner_home(spawner), WORKSPACE_FOLDER)


def make_home_private(spawner) -> None:
    """Take group and others' access to the learner's home away (their workspace and notebooks live there)."""
    if os.geteuid() != 0 or not _setting("AIRLIFT_HUB_PRIVATE_HOMES"):
        return
    entry = pwd.getpwnam(spawner.user.name)
    home = Path(entry.pw_dir)
    info = home.lstat() if home.exists() else None
    if info is None or not stat.S_ISDIR(info.st_mode) or info.st_uid != entry.pw_uid:
        return  # no home yet, or one the learner does not own: not the hub's to change
    if info.st_mode & 0o077:
        os.chmod(home, stat.S_IMODE(info.st_mode) & 0o700)


async def copy_notebooks(spawner) -> None:
    """Have the learner copy the notebooks into their home, as themselves; a failure only gets logged."""
    if os.geteuid() != 0 or not _setting("AIRLIFT_HUB_COPY_NOTEBOOKS") or not COMMAND.exists():
        return
    target = os.path.join(learner_home(spawner), NOTEBOOKS_FOLDER)
    process = await asyncio.create_subprocess_exec(
        RUNUSER, "-u", spawner.user.name, "--", str(COMMAND), "notebooks", target,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={"PATH": "/usr/bin:/bin", "HOME": learner_home(spawner), "LANG": "C.UTF-8"},
    )  # fmt: skip
    output, _ = await process.communicate()
    if process.returncode:
        spawner.log.warning(
            "airlift-tutorial notebooks failed for %s: %s", spawner.user.name, output.decode()[-500:]
        )


async def prepare_learner(spawner) -> None:
    """Before a learner's server starts: a private home with the notebooks in it."""
    make_home_private(spawner)
    await copy_notebooks(spawner)


c = get_config()  # noqa: F821 (traitlets gives config files get_config)
c.Spawner.environment.update({"AIRLIFT_TUTORIAL_HOME": learner_workspace})
c.Spawner.pre_spawn_hook = prepare_learner
