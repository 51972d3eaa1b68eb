"""Shared fixtures: one real workspace with Airflow and Dagster for all stage tests of a session."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import requests

from tutorial_lib import learner_project, services
from tutorial_lib.cli import lab
from tutorial_lib.progress import wait_until
from tutorial_lib.services import jupyter_proxy, processes
from tutorial_lib.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent

os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")


# The stage tests' workspace serves its UIs under jupyter-server-proxy's paths, as on a JupyterHub, so every
# stage test also proves the workbench on prefixed URLs; the notebook tests run with direct URLs.
PROXY_BASE = "/user/learner/"


SHARED_MEMORY = Path("/dev/shm")


def _semaphores() -> set[Path]:
    return set(SHARED_MEMORY.glob("sem.mp-*")) if SHARED_MEMORY.is_dir() else set()


def _mapped_anywhere(path: Path) -> bool:
    """Whether a live process has the file mapped (a semaphore in use is). glibc maps a semaphore under a
    temporary name it then links to the real one, so the mapping is found by the file's inode."""
    try:
        inode = str(path.stat().st_ino)
    except OSError:
        return False
    for maps in Path("/proc").glob("[0-9]*/maps"):
        with suppress(OSError):
            for line in maps.read_text().splitlines():
                fields = line.split()
                if len(fields) > 5 and fields[4] == inode and fields[5].startswith(str(SHARED_MEMORY)):
                    return True
    return False


@pytest.fixture(scope="session", autouse=True)
def no_orphans_of_the_fault_tests() -> Iterator[None]:
    """The fault tests kill services with SIGKILL, resource trackers included, as a crash or a power cut
    does; the semaphores and multiprocessing folders those trackers would have removed are removed at the
    end of the session (a reboot clears them too): only ones made during the session, and no longer used;"""
    shared = Path(tempfile.gettempdir())
    # and the folders a workspace too deep for sockets keeps there, made for a test's workspace whose
    # services the test never started, so no `down` removed them
    made_here = ("pymp-*", f"airlift-tutorial-{os.getuid()}-*")
    semaphores, folders = _semaphores(), {path for pattern in made_here for path in shared.glob(pattern)}
    yield
    for path in _semaphores() - semaphores:
        if not _mapped_anywhere(path):
            path.unlink(missing_ok=True)
    for folder in {path for pattern in made_here for path in shared.glob(pattern)} - folders:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def stage_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A workspace folder whose services are stopped (and checked gone) when the session ends."""
    home = Path(os.environ.get("AIRLIFT_TUTORIAL_TEST_HOME") or tmp_path_factory.mktemp("workspace"))
    # The stage tests prove the reference: the learner's project with every exercise solved.
    ws = Workspace(home).ensure()
    learner_project.install(ws.definitions_dir, solved=lambda region: True)
    learner_project.DAGS.install(ws.dags_dir, solved=lambda region: True)
    ws.proxied_state_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "airflow_dags" / "proxied_state" / "rebuild_customers_list.yaml", ws.proxied_state_dir)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(jupyter_proxy.SETTING, PROXY_BASE)
        yield home
    services.down(home)
    left = services.workspace_processes(home)
    assert left == [], f"processes of the test workspace survived `down`: {left}"


@pytest.fixture
def running(stage_home: Path) -> services.Services:
    """The test workspace with Airflow and Dagster up: started at first use, reused (or restarted if a
    stage stopped one, as decommission stops Airflow) after."""
    return services.up(stage_home, show=False)


@contextmanager
def jupyter_server(
    root_dir: Path, state: Path, base_url: str = "/", env: dict[str, str] | None = None
) -> Iterator[tuple[str, str]]:
    """JupyterLab as `airlift-tutorial lab` starts it (its terminals find the project's commands), on a free
    port of 127.0.0.1, serving `root_dir` under `base_url`, with `env` added; its settings and log in `state`.
    Yields its URL (with the base path) and token, then stops it and every kernel it started."""
    settings = state / "lab-settings"
    # Render every cell of a notebook (JupyterLab's default draws only those in view), and keep a terminal's
    # text in the page (screen reader mode), where a test can read it.
    tracker = settings / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    terminal = settings / "@jupyterlab" / "terminal-extension"
    terminal.mkdir(parents=True)
    (terminal / "plugin.jupyterlab-settings").write_text('{"screenReaderMode": true}')
    port, token = processes.free_port(), secrets.token_hex(16)
    lab.quiet_lab()
    argv = lab.command(
        root_dir,
        open_notebook=False,
        extra=[
            f"--ServerApp.port={port}",
            f"--ServerApp.base_url={base_url}",
            f"--IdentityProvider.token={token}",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={state}",
            "--ServerApp.open_browser=False",
        ],
    )
    owner = f"{state}::jupyter"
    environment = lab.environment({**os.environ, **(env or {})})
    proc = processes.spawn(argv, env=environment, log_file=state / "jupyter.log", cwd=state, owner=owner)
    url = f"http://127.0.0.1:{port}{base_url.rstrip('/')}"
    try:

        def answers() -> bool:
            try:
                return requests.get(f"{url}/api/status?token={token}", timeout=5).ok
            except requests.RequestException:
                return False

        wait_until(answers, what="Jupyter server to start", timeout=120, show=False)
        yield url, token
    finally:
        with suppress(requests.RequestException):
            for kernel in requests.get(f"{url}/api/kernels?token={token}", timeout=10).json():
                requests.delete(f"{url}/api/kernels/{kernel['id']}?token={token}", timeout=30)
        processes.stop_tree(os.getpgid(proc.pid), owner=owner)


@pytest.fixture(scope="session")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A Jupyter server with the hub-like base path, serving the repository: yields its URL (without the base
    path) and token."""
    with jupyter_server(REPO, tmp_path_factory.mktemp("jupyter"), PROXY_BASE) as (url, token):
        yield url.removesuffix(PROXY_BASE.rstrip("/")), token
