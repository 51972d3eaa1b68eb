"""The instructor's side of a hub: the Python .venv is built on, `hub-setup`, the included configuration, the
learners' copy of the notebooks, and `doctor` as a learner sees the host."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from traitlets.config.loader import PyFileConfigLoader

from tutorial_lib.cli import doctor, hub_setup, learner_view, notebooks_copy
from tutorial_lib.workspace import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tools"))
import shared_python  # noqa: E402

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root, as an instructor setting up a hub")


def test_the_venv_runs_on_a_python_that_every_user_can_reach() -> None:
    info = shared_python.describe(str(REPO_ROOT / ".venv" / "bin" / "python"))
    assert info is not None
    base = shared_python.describe(os.path.realpath(REPO_ROOT / ".venv" / "bin" / "python"))
    assert shared_python.why_private(base) is None, base


def test_make_install_passes_over_a_python_in_a_private_folder_and_names_the_folder(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    link = private / "python3.11"
    link.symlink_to(os.path.realpath(REPO_ROOT / ".venv" / "bin" / "python"))
    chosen, notes = shared_python.choose(str(link))
    assert chosen is not None and not chosen.startswith(str(private))
    assert notes and str(private) in notes[0]


@needs_root
def test_a_learner_other_than_root_can_run_the_venvs_python_and_import_the_workbench() -> None:
    python = str(REPO_ROOT / ".venv" / "bin" / "python")
    ran = subprocess.run(
        ["runuser", "-u", "nobody", "--", python, "-c", "import tutorial_lib"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr


def test_hub_setup_installs_the_kernel_and_links_the_command_once_and_again(tmp_path: Path) -> None:
    prefix = tmp_path / "usr-local"
    kernel = hub_setup.install_kernel(prefix)
    command = hub_setup.link_command(prefix)
    spec = json.loads((prefix / "share/jupyter/kernels/airlift-tutorial/kernel.json").read_text())
    assert spec["argv"][0] == str(hub_setup.python()) and "runs" in kernel.done
    assert os.readlink(prefix / "bin" / "airlift-tutorial") == str(REPO_ROOT / ".venv/bin/airlift-tutorial")
    assert "already there" in hub_setup.link_command(prefix).done and command.name == "command"
    hub_setup.install_kernel(prefix)  # again: the same kernel, replaced in place


def test_hub_setup_leaves_a_command_or_kernel_it_did_not_write_and_names_it(tmp_path: Path) -> None:
    prefix = tmp_path / "usr-local"
    (prefix / "bin").mkdir(parents=True)
    theirs = prefix / "bin" / "airlift-tutorial"
    theirs.write_text("#!/bin/sh\necho someone else's\n")
    with pytest.raises(hub_setup.HubSetupError, match="not this workbench's link"):
        hub_setup.link_command(prefix)
    assert "someone else's" in theirs.read_text()
    spec = prefix / "share/jupyter/kernels/airlift-tutorial/kernel.json"
    spec.parent.mkdir(parents=True)
    spec.write_text(json.dumps({"argv": ["/opt/other/python", "-m", "ipykernel_launcher"]}))
    with pytest.raises(hub_setup.HubSetupError, match="another environment's kernel"):
        hub_setup.install_kernel(prefix)
    assert "/opt/other/python" in spec.read_text()


def test_making_the_checkout_read_only_takes_write_access_from_others_and_leaves_a_workspace_alone(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "checkout"
    (repo / "notebooks").mkdir(parents=True)
    loose = repo / "notebooks" / "01.ipynb"
    loose.write_text("{}")
    loose.chmod(0o666)
    secret = repo / ".workbench" / "secrets" / "airflow_password"
    secret.parent.mkdir(parents=True)
    secret.write_text("hunter2")
    secret.chmod(0o600)
    step = hub_setup.make_read_only(repo)
    assert stat.S_IMODE(loose.stat().st_mode) == 0o644
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert "1 mode(s) changed" in step.done or "2 mode(s) changed" in step.done


def test_hub_setup_refuses_to_run_as_a_learner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(hub_setup.HubSetupError, match="as root"):
        hub_setup.setup(tmp_path)


def test_the_included_configuration_gives_each_learner_a_workspace_in_their_home_and_a_hook_one_can_wrap(
    tmp_path: Path,
) -> None:
    main = tmp_path / "jupyterhub_config.py"
    main.write_text(
        "c.Spawner.environment = {'KEEP': 'me'}\n"
        f"load_subconfig({str(hub_setup.CONFIG)!r})\n"
        "airlift_hook = c.Spawner.pre_spawn_hook\n"  # the recipe in the configuration's docstring
        "async def pre_spawn_hook(spawner):\n"
        "    await airlift_hook(spawner)\n"
        "    spawner.calls.append('mine')\n"
        "c.Spawner.pre_spawn_hook = pre_spawn_hook\n"
    )
    config = PyFileConfigLoader(main.name, path=str(tmp_path)).load_config()
    environment = config.Spawner.environment
    assert environment["KEEP"] == "me"
    spawner = SimpleNamespace(user=SimpleNamespace(name="root"), calls=[], log=None)
    assert environment["AIRLIFT_TUTORIAL_HOME"](spawner) == os.path.expanduser("~root/airlift-workbench")
    hook = config.Spawner.pre_spawn_hook
    import asyncio

    os.environ["AIRLIFT_HUB_PRIVATE_HOMES"] = "0"
    os.environ["AIRLIFT_HUB_COPY_NOTEBOOKS"] = "0"
    try:
        asyncio.run(hook(spawner))
    finally:
        del os.environ["AIRLIFT_HUB_PRIVATE_HOMES"], os.environ["AIRLIFT_HUB_COPY_NOTEBOOKS"]
    assert spawner.calls == ["mine"]


def test_a_learners_notebooks_copy_brings_the_docs_they_link_to_and_never_overwrites_their_work(
    tmp_path: Path,
) -> None:
    target = tmp_path / "mine"
    first = notebooks_copy.copy(target)
    peer = target / "notebooks" / "01_peer.ipynb"
    assert peer.exists() and (target / "docs" / "troubleshooting.md").exists()
    assert "Copied" in first.summary() and str(peer) in first.summary()
    peer.write_text("my own work")
    again = notebooks_copy.copy(target)
    assert peer.read_text() == "my own work"
    assert again.written == [] and peer in again.kept and "already" in again.summary()


@needs_root
def test_doctor_as_root_looks_as_another_user_and_with_hub_fails_what_a_hub_learner_would_miss() -> None:
    view = learner_view.look("nobody")
    assert view.user == "nobody" and view.as_other_user and view.python_ok and view.workspace_ok
    plain = {check.name: check for check in doctor.check_as_learner("nobody", hub=False)}
    with_hub = {check.name: check for check in doctor.check_as_learner("nobody", hub=True)}
    name = "as nobody: command in a terminal"
    if not plain[name].passed:  # this host has no hub set up: a warning, and a failure for a hub
        assert plain[name].warning and not with_hub[name].warning
        assert "hub-setup" in with_hub[name].fix


def test_doctor_sizes_a_class_from_the_room_figures_and_counts_the_hubs_jupyter_servers() -> None:
    one, three = doctor.host_needed(1, hub=True), doctor.host_needed(3, hub=True)
    assert three["memory_gb"] > 3 * doctor.MEMORY_PER_LEARNER_MB / 1024
    assert doctor.host_needed(3, hub=False)["memory_gb"] < three["memory_gb"]
    # the room measured 64-67 s for three learners on 2 cores, against 35 s alone
    assert 60 <= doctor.stage_seconds_at_once(3, 2) <= 70
    assert doctor.stage_seconds_at_once(1, 2) == doctor.STAGE_ALONE_S
    thirty = doctor.host_needed(30, hub=True)
    assert thirty["stage_seconds_at_once"] / doctor.STAGE_ALONE_S <= doctor.SLOWDOWN_WARNING
    assert (
        doctor.stage_seconds_at_once(30, thirty["cores"] - 1) / doctor.STAGE_ALONE_S > doctor.SLOWDOWN_WARNING
    )
    assert one["cores"] == 1 and "A class of 30 needs" in doctor.host_line(thirty)
