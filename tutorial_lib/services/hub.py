"""A real JupyterHub on this host, with throw-away local learners: for the hub test and `make room`.

The hub runs the shipped configuration (`tutorial_lib/in_hub/jupyterhub_config.py`) with PAM logins, the
default local-process spawner and configurable-http-proxy, as an instructor's would. `airlift-tutorial
hub-setup` runs first, as an instructor runs it, but in a mount namespace of the hub's own where /usr/local is
an overlay: the kernel and the command it installs are seen by the hub, its learners' servers and their
terminals, and the host's /usr/local is left as it was. Needs root (to add users, spawn as them, and for PAM).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

from tutorial_lib.services.processes import free_port
from tutorial_lib.workspace import REPO_ROOT

VENV_BIN = REPO_ROOT / ".venv" / "bin"
PROXY = REPO_ROOT / ".tools" / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"
INCLUDE = REPO_ROOT / "tutorial_lib" / "in_hub" / "jupyterhub_config.py"
USER_PREFIX = "ar"  # short, with a short base folder: homes as short as /home/alice, as on a real host
TOOLS = ("useradd", "userdel", "chpasswd", "runuser", "unshare", "mount")

# The instructor's part (ports, proxy, database, who may log in) is ours; the workbench's part is included.
CONFIG = """\
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.pid_file = {pid_file!r}
c.JupyterHub.db_url = "sqlite:///{root}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = {cookie_file!r}
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.open_sessions = False
c.Authenticator.allowed_users = {users!r}
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
c.JupyterHub.services = [{{"name": "airlift-room", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [
    {{"name": "airlift-room", "scopes": ["admin:users", "admin:servers", "tokens"],
      "services": ["airlift-room"]}}
]
load_subconfig({include!r})
"""

# In the hub's own mount namespace: /usr/local as an overlay, the instructor's setup, then the hub.
LAUNCH = """\
set -e
mount -t overlay overlay /usr/local \\
    -o lowerdir=/usr/local,upperdir={root}/usr-local,workdir={root}/usr-local-work
{venv}/airlift-tutorial hub-setup > {root}/hub-setup.log 2>&1
exec {venv}/jupyterhub -f {root}/jupyterhub_config.py
"""


class HubError(RuntimeError):
    """The hub could not be set up or did not answer; the message says where to look."""


def missing() -> str | None:
    """Why a hub cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "needs root (to add local users, spawn servers as them, and log them in with PAM)"
    if not PROXY.exists():
        return f"configurable-http-proxy is not installed ({PROXY}): run `make hub-proxy` (needs npm)"
    if not (VENV_BIN / "jupyterhub").exists():
        return "jupyterhub is not in .venv: run `make install`"
    absent = [tool for tool in TOOLS if not shutil.which(tool)]
    return f"missing system tools: {', '.join(absent)}" if absent else None


@dataclass
class Learner:
    """A throw-away local user, with a password for the hub's login page."""

    name: str
    password: str
    home: Path

    @property
    def uid(self) -> int:
        """The user's id."""
        return pwd.getpwnam(self.name).pw_uid

    @property
    def workspace(self) -> Path:
        """The workspace the hub's configuration gives this learner."""
        return self.home / "airlift-workbench"


def add_learners(base: Path, count: int) -> list[Learner]:
    """`count` new local users with homes in `base` (made as useradd makes them: readable by others)."""
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)
    closed = [folder for folder in base.resolve().parents if not folder.stat().st_mode & 0o001]
    if closed:
        raise HubError(
            f"Learners' homes in {base} would be out of their reach: {closed[0]} is closed to others."
        )
    tag = secrets.token_hex(3)
    made = []
    try:
        for index in range(count):
            name = f"{USER_PREFIX}-{tag}-{index}"
            home = base / name
            subprocess.run(
                ["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash", name],
                check=True, capture_output=True,
            )  # fmt: skip
            made.append(Learner(name, secrets.token_urlsafe(12), home))
            subprocess.run(
                ["chpasswd"],
                input=f"{name}:{made[-1].password}\n",
                text=True,
                check=True,
                capture_output=True,
            )
            home.chmod(0o755)
    except BaseException:
        remove_learners(made)
        raise
    return made


def stop_learner_processes(learner: Learner) -> int:
    """Stop what a learner still runs: their workspace by `down`, then any process of theirs, by group."""
    if learner.workspace.exists():
        subprocess.run(
            ["runuser", "-u", learner.name, "--", str(VENV_BIN / "airlift-tutorial"), "--home",
             str(learner.workspace), "down"],
            capture_output=True, timeout=120,
        )  # fmt: skip
    try:
        uid = learner.uid
    except KeyError:
        return 0
    groups = {group for p in psutil.process_iter(["uids"]) if _owned(p, uid) and (group := _group(p.pid))}
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return len(groups)


def _group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:  # it ended meanwhile
        return None


def _owned(process: psutil.Process, uid: int) -> bool:
    try:
        return process.info["uids"] is not None and process.info["uids"].real == uid
    except (psutil.Error, KeyError):
        return False


def remove_learners(learners: Sequence[Learner]) -> None:
    """Delete the users and their homes (their processes stopped first)."""
    for learner in learners:
        stop_learner_processes(learner)
        subprocess.run(["userdel", "--remove", learner.name], capture_output=True)
        shutil.rmtree(learner.home, ignore_errors=True)


@dataclass
class RunningHub:
    """A started hub: its public URL, its folder, its process and the admin service's token."""

    url: str
    root: Path
    process: subprocess.Popen
    token: str
    learners: list[Learner] = field(default_factory=list)

    def api(self, method: str, path: str, **kwargs: object) -> requests.Response:
        """A call to the hub's REST API as the admin service."""
        headers = {"Authorization": f"token {self.token}"}
        return requests.request(method, f"{self.url}/hub/api{path}", headers=headers, timeout=60, **kwargs)

    def log(self, lines: int = 60) -> str:
        """The end of the hub's log."""
        text = (self.root / "hub.log").read_text(errors="replace") if (self.root / "hub.log").exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the hub (it stops the learners' servers) and its proxy, by process group."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # the proxy, if the hub left it
        except ProcessLookupError:
            pass


def start(root: Path, learners: Sequence[Learner], *, timeout: float = 90) -> RunningHub:
    """Start a hub for `learners` with the shipped configuration included; returns once it answers."""
    reason = missing()
    if reason:
        raise HubError(f"Cannot start JupyterHub here: {reason}.")
    root.mkdir(parents=True, exist_ok=True)
    for folder in ("usr-local", "usr-local-work"):
        (root / folder).mkdir(exist_ok=True)
    port, token = free_port(), secrets.token_hex(32)
    (root / "jupyterhub_config.py").write_text(
        CONFIG.format(
            port=port, hub_port=free_port(), api_port=free_port(), proxy=str(PROXY), root=root,
            pid_file=str(root / "proxy.pid"), cookie_file=str(root / "cookie_secret"),
            users={learner.name for learner in learners}, singleuser=str(VENV_BIN / "jupyterhub-singleuser"),
            token=token, include=str(INCLUDE),
        )
    )  # fmt: skip
    env = {
        "PATH": f"{VENV_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(root),
        "CONFIGPROXY_AUTH_TOKEN": secrets.token_hex(32),
    }
    launch = LAUNCH.format(root=root, venv=VENV_BIN)
    with open(root / "hub.log", "ab") as log:
        process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", launch],
            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    hub = RunningHub(f"http://127.0.0.1:{port}", root, process, token, list(learners))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            setup = (root / "hub-setup.log").read_text() if (root / "hub-setup.log").exists() else ""
            raise HubError(f"JupyterHub exited ({process.returncode}).\n{setup}\n{hub.log()}")
        try:
            if hub.api("GET", "/").ok:
                return hub
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    hub.stop()
    raise HubError(f"JupyterHub did not answer within {timeout:.0f} s.\n{hub.log()}")
