"""The workspace folder: layout, state file, secrets, version check."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tutorial_lib.workspace import LAYOUT_VERSION, Workspace, WorkspaceError, default_home


def test_ensure_creates_the_layout_with_dags_and_data_copied_in(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws").ensure()
    assert "# TODO (migrate)" in (ws.dags_dir / "rebuild_customers_list.py").read_text()  # a starter
    assert not ws.proxied_state_dir.exists()  # the learner scaffolds it in stage 4
    assert not (ws.dags_dir / "data").exists()
    assert len(ws.raw_customers_csv.read_text().splitlines()) == 100
    assert ws.read_state()["layout_version"] == LAYOUT_VERSION
    for folder in (ws.airflow_home, ws.dagster_home, ws.logs_dir, ws.runs_dir):
        assert folder.is_dir()


def test_secrets_are_generated_once_and_private(tmp_path: Path) -> None:
    ws = Workspace(tmp_path).ensure()
    first = ws.secret("airflow_password")
    assert first == ws.secret("airflow_password")
    assert len(first) >= 20
    assert stat.S_IMODE((ws.secrets_dir / "airflow_password").stat().st_mode) == 0o600
    assert stat.S_IMODE(ws.secrets_dir.stat().st_mode) == 0o700


def test_nothing_in_a_new_workspace_is_world_writable(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws").ensure()
    for path in [ws.home, *ws.home.rglob("*")]:
        assert not path.stat().st_mode & stat.S_IWOTH, path


def test_update_state_merges_keys(tmp_path: Path) -> None:
    ws = Workspace(tmp_path).ensure()
    ws.update_state(stage="observe")
    ws.update_state(definitions="observe")
    state = ws.read_state()
    assert (state["stage"], state["definitions"]) == ("observe", "observe")


def test_an_older_layout_is_refused_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text(json.dumps({"layout_version": 0}))
    with pytest.raises(WorkspaceError, match="layout version 0.*airlift-tutorial reset"):
        Workspace(tmp_path).ensure()


def test_a_corrupt_state_file_is_named_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{not json")
    with pytest.raises(WorkspaceError, match="state.json is not valid JSON.*delete the file"):
        Workspace(tmp_path).read_state()


def test_the_home_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AIRLIFT_TUTORIAL_HOME", str(tmp_path / "elsewhere"))
    assert default_home() == tmp_path / "elsewhere"
    monkeypatch.delenv("AIRLIFT_TUTORIAL_HOME")
    assert default_home().name == ".workbench"


def test_the_workspace_holds_the_learners_own_copy_of_the_definitions(tmp_path: Path) -> None:
    from tutorial_lib.workspace import REPO_ROOT

    ws = Workspace(tmp_path / "ws").ensure()
    committed = sorted(
        p.relative_to(REPO_ROOT / "dagster_defs") for p in (REPO_ROOT / "dagster_defs").rglob("*.py")
    )
    assert sorted(p.relative_to(ws.definitions_dir) for p in ws.definitions_dir.rglob("*.py")) == committed
    (ws.definitions_dir / "observe.py").write_text("# mine\n")
    ws.ensure()  # an existing project is the learner's: never overwritten
    assert (ws.definitions_dir / "observe.py").read_text() == "# mine\n"
    backup = ws.backup_project()
    assert backup is not None and (backup / "dagster_defs" / "observe.py").read_text() == "# mine\n"


def test_a_full_disk_while_saving_the_state_says_so_and_keeps_the_state_from_before(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws").ensure()
    ws.update_state(stage="observe")
    before = ws.state_file.read_text()
    # Writes to /dev/full fail with ENOSPC, as on a full disk: the state's temporary file is made one.
    (ws.home / f".state.{os.getpid()}.tmp").symlink_to("/dev/full")
    with pytest.raises(WorkspaceError) as full:
        ws.update_state(stage="partitions")
    message = str(full.value)
    assert message.startswith(f"The disk that holds the workspace {ws.home} is full"), message
    assert "nothing you wrote is lost" in message and "run the cell (or command) again" in message
    assert ws.state_file.read_text() == before
    assert not list(ws.home.glob(".state.*.tmp"))
    assert ws.update_state(stage="partitions")["stage"] == "partitions"  # room again: it goes on
