"""What the services' processes inherit: the workspace's own temporary folder, and no hub token."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tutorial_lib import services
from tutorial_lib.workspace import Workspace


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A folder with a short path, as a learner's home is (pytest's own can be too deep for sockets)."""
    folder = Path(tempfile.mkdtemp(prefix="aw-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("service", ["airflow", "dagster"])
def test_services_keep_temporary_files_in_the_workspace_and_get_no_hub_token(
    short_tmp: Path, monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "a-learners-token")
    monkeypatch.setenv("JPY_API_TOKEN", "a-learners-token")
    monkeypatch.setenv("TMPDIR", "/tmp")
    ws = Workspace(short_tmp / "ws").ensure()
    env = (
        services.airflow_env(ws, port=8080, dagster_url="http://127.0.0.1:3000/")
        if service == "airflow"
        else services.dagster_env(ws)
    )
    assert "a-learners-token" not in env.values()
    assert env["TMPDIR"] == env["TMP"] == env["TEMP"] == str(ws.tmp_dir) and ws.tmp_dir.is_dir()


def test_a_workspace_too_deep_for_sockets_gets_a_short_private_tmpdir_that_a_socket_fits_in(
    tmp_path: Path, short_tmp: Path, request: pytest.FixtureRequest
) -> None:
    import socket
    import stat

    from tutorial_lib.services.command_lines import services_tmp_dir

    deep = Workspace(tmp_path / ("d" * 40) / "airlift-workbench").ensure()
    tmp = services_tmp_dir(deep)
    request.addfinalizer(lambda: shutil.rmtree(tmp.parent, ignore_errors=True))
    assert str(tmp).startswith(tempfile.gettempdir())
    assert tmp != deep.tmp_dir and stat.S_IMODE(tmp.stat().st_mode) == 0o700
    assert services_tmp_dir(deep) == tmp  # the same folder at every start
    for ws, folder in ((deep, tmp), (Workspace(short_tmp / "ws").ensure(), None)):
        folder = folder or services_tmp_dir(ws)
        assert folder == (tmp if ws is deep else ws.tmp_dir)
        (folder / "pymp-12345678").mkdir()  # where multiprocessing's fork server puts its socket
        with socket.socket(socket.AF_UNIX) as listener:
            listener.bind(str(folder / "pymp-12345678" / "listener-12345678"))
    with pytest.raises(OSError, match="too long"), socket.socket(socket.AF_UNIX) as listener:
        (deep.tmp_dir / "pymp-12345678").mkdir(parents=True)
        listener.bind(str(deep.tmp_dir / "pymp-12345678" / "listener-12345678"))  # the control


def test_down_removes_a_deep_workspaces_folder_in_the_shared_temporary_folder(tmp_path: Path) -> None:
    from tutorial_lib.services.command_lines import code_server_socket, services_tmp_dir

    deep = Workspace(tmp_path / ("d" * 40) / "airlift-workbench").ensure()
    tmp, socket_folder = services_tmp_dir(deep), code_server_socket(deep).parent
    assert tmp.parent == socket_folder.parent and tmp.is_dir()
    (tmp / "pymp-12345678").mkdir()  # what multiprocessing leaves when a service is killed
    other = Workspace(tmp_path / ("e" * 40) / "airlift-workbench").ensure()
    kept = services_tmp_dir(other)
    services.down(deep)
    assert not tmp.parent.exists()
    assert kept.is_dir()  # another workspace's folder is left alone
    services.down(other)
    assert not kept.parent.exists()
