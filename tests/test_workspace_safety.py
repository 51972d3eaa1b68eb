"""The workbench deletes and changes only what it made: foreign folders refused, private ones kept private."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

import pytest

from tutorial_lib import cli
from tutorial_lib.workspace import MARKER, Workspace, WorkspaceError


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path below a folder, with its bytes (None for a folder)."""
    return {
        str(path.relative_to(folder)): (path.read_bytes() if path.is_file() else None)
        for path in sorted(folder.rglob("*"))
    }


def _learner_home(tmp_path: Path) -> Path:
    home = tmp_path / "learner"
    (home / "Documents").mkdir(parents=True)
    (home / "Documents" / "thesis.txt").write_text("four years of work\n")
    (home / ".bashrc").write_text("export PS1='$ '\n")
    return home


def test_reset_refuses_a_folder_holding_files_it_did_not_create(tmp_path: Path, capsys) -> None:
    home = _learner_home(tmp_path)
    before = _snapshot(home)
    assert cli.main(["--home", str(home), "reset"]) == 2
    err = capsys.readouterr().err
    assert str(home) in err and "did not create" in err and "new or empty folder" in err
    assert ".bashrc" in err and "Documents" in err
    assert _snapshot(home) == before


def test_reset_refuses_a_home_like_folder_named_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    home = _learner_home(tmp_path)
    before = _snapshot(home)
    monkeypatch.setenv("AIRLIFT_TUTORIAL_HOME", str(home))
    for command in (["reset"], ["reset", "--stage", "observe"], ["run", "peer"]):
        assert cli.main(command) == 2, command
        assert "did not create" in capsys.readouterr().err
    assert _snapshot(home) == before


def test_a_foreign_folder_is_never_made_a_workspace(tmp_path: Path) -> None:
    home = _learner_home(tmp_path)
    with pytest.raises(WorkspaceError, match="did not create"):
        Workspace(home).ensure()
    with pytest.raises(WorkspaceError, match="did not create"):
        Workspace(home).remove_created()
    assert not (home / MARKER).exists() and not (home / "state.json").exists()


def test_a_private_folder_stays_private_through_ensure_and_reset(tmp_path: Path) -> None:
    home = tmp_path / "private"
    home.mkdir(mode=0o700)
    home.chmod(0o700)
    Workspace(home).ensure()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert cli.main(["--home", str(home), "reset"]) == 0
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_reset_inside_a_workspace_removes_only_what_the_workbench_made(tmp_path: Path, capsys) -> None:
    ws = Workspace(tmp_path / "ws").ensure()
    (ws.home / "notes.txt").write_text("my notes\n")
    (ws.runs_dir / "keep.txt").write_text("a run\n")
    ws.customers_csv.write_text("id\n1\n")
    assert cli.main(["--home", str(ws.home), "reset"]) == 0
    out = capsys.readouterr().out
    assert "Left as they were (not the workbench's): notes.txt" in out
    assert (ws.home / "notes.txt").read_text() == "my notes\n"
    assert (ws.runs_dir / "keep.txt").exists()
    assert not ws.customers_csv.exists()
    assert (ws.dags_dir / "rebuild_customers_list.py").exists()


def test_an_empty_or_new_folder_becomes_a_marked_workspace(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for home in (tmp_path / "empty", tmp_path / "new" / "nested"):
        ws = Workspace(home).ensure()
        assert ws.is_marked and (home / MARKER).is_file()


def test_a_workspace_of_an_older_workbench_is_recognised_by_its_state_file(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text('{"layout_version": 1, "stage": "peer"}')
    (tmp_path / "data").mkdir()
    ws = Workspace(tmp_path)
    assert ws.is_marked
    assert cli.main(["--home", str(tmp_path), "reset"]) == 0
    assert (tmp_path / MARKER).is_file()


@pytest.mark.parametrize("command", [["status"], ["reset"], ["down"], ["up"]])
def test_a_home_that_is_a_file_gets_one_line_naming_the_fix(tmp_path: Path, capsys, command) -> None:
    path = tmp_path / "thesis.txt"
    path.write_text("keep me\n")
    assert cli.main(["--home", str(path), *command]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a file, not a folder" in err and "--home" in err
    assert path.read_text() == "keep me\n"


def test_a_home_that_cannot_be_created_gets_one_line_naming_the_fix(tmp_path: Path, capsys) -> None:
    (tmp_path / "file").write_text("")
    assert cli.main(["--home", str(tmp_path / "file" / "ws"), "run", "peer"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Cannot create the workspace folder" in err and "--home" in err


def _update_many(home: str, writer: int, count: int) -> None:
    ws = Workspace(Path(home))
    for number in range(count):
        ws.update_state(**{f"w{writer}_{number}": number})


def test_concurrent_state_updates_lose_no_key(tmp_path: Path) -> None:
    Workspace(tmp_path).ensure()
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_update_many, args=(str(tmp_path), w, 40)) for w in range(4)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(60)
        assert process.exitcode == 0
    state = Workspace(tmp_path).read_state()
    assert {key for key in state if key.startswith("w")} == {f"w{w}_{n}" for w in range(4) for n in range(40)}
    assert state["layout_version"] == 1
    assert not list(tmp_path.glob(".state.*.tmp"))
