"""What the services' processes inherit: the workspace's own temporary folder, and no hub token."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutorial_lib import services
from tutorial_lib.workspace import Workspace


@pytest.mark.parametrize("service", ["airflow", "dagster"])
def test_services_keep_temporary_files_in_the_workspace_and_get_no_hub_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "a-learners-token")
    monkeypatch.setenv("JPY_API_TOKEN", "a-learners-token")
    monkeypatch.setenv("TMPDIR", "/tmp")
    ws = Workspace(tmp_path / "ws").ensure()
    env = (
        services.airflow_env(ws, port=8080, dagster_url="http://127.0.0.1:3000/")
        if service == "airflow"
        else services.dagster_env(ws)
    )
    assert "a-learners-token" not in env.values()
    assert env["TMPDIR"] == env["TMP"] == env["TEMP"] == str(ws.tmp_dir) and ws.tmp_dir.is_dir()
