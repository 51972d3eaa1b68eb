"""`airlift-tutorial lab` (and `make lab`): JupyterLab whose terminals find our commands, root too."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tutorial_lib.cli import lab

BIN = Path(sys.executable).parent


def test_the_venv_comes_first_on_the_path_of_jupyter_and_its_terminals() -> None:
    env = lab.environment({"PATH": f"/usr/bin{os.pathsep}{BIN}{os.pathsep}/bin", "HOME": "/home/x"})
    assert env["PATH"].split(os.pathsep) == [str(BIN), "/usr/bin", "/bin"]
    assert env["HOME"] == "/home/x" and env["VIRTUAL_ENV"] == str(BIN.parent)


def test_a_shell_with_that_path_finds_every_command_a_notebook_asks_a_learner_to_type() -> None:
    env = lab.environment({"PATH": "/usr/bin:/bin"})
    for command in ("airlift-tutorial", "airflow", "dagster", "dagster-airlift"):
        found = subprocess.run(["sh", "-c", f"command -v {command}"], env=env, capture_output=True, text=True)
        assert found.stdout.strip() == str(BIN / command), command
    assert shutil.which("airlift-tutorial", path="/usr/bin:/bin") is None  # what a plain terminal had


@pytest.mark.parametrize(("uid", "allowed"), [(0, True), (1000, False)])
def test_jupyter_is_told_to_run_as_root_only_when_it_is_root(
    monkeypatch: pytest.MonkeyPatch, uid: int, allowed: bool
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: uid)
    argv = lab.command()
    assert argv[:2] == [str(BIN / "jupyter"), "lab"] and "--ServerApp.ip=127.0.0.1" in argv
    assert ("--allow-root" in argv) is allowed
    assert "--LabApp.default_url=/lab/tree/notebooks/01_peer.ipynb" in argv


def test_the_terminals_shell_is_named_so_that_no_login_profile_resets_the_path() -> None:
    argv = lab.command()
    [setting] = [arg for arg in argv if arg.startswith("--ServerApp.terminado_settings=")]
    assert setting == f"--ServerApp.terminado_settings=shell_command={lab.shell()}"
    assert Path(lab.shell()).exists() and not lab.shell().endswith("-l")


def test_quiet_lab_turns_off_the_news_pop_up_and_keeps_other_overrides(tmp_path: Path) -> None:
    overrides = tmp_path / "settings" / "overrides.json"
    lab.quiet_lab(overrides)
    notification = json.loads(overrides.read_text())["@jupyterlab/apputils-extension:notification"]
    assert notification == {"fetchNews": "false", "checkForUpdates": False}
    overrides.write_text(json.dumps({"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"}}))
    lab.quiet_lab(overrides)
    settings = json.loads(overrides.read_text())
    assert settings["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}
    assert settings["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    overrides.write_text("{not json")
    lab.quiet_lab(overrides)
    assert overrides.read_text() == "{not json"
