"""Two learners at a real JupyterHub (PyPI's, with configurable-http-proxy from npm and PAM logins), set up as
the README tells an instructor: `hub-setup` as root, then the shipped configuration included.

Each learner logs in through the hub's login page, gets a server spawned by the hub's local-process spawner,
brings up a workspace by typing `airlift-tutorial up` in a terminal (a login shell, as a hub's are), runs a
notebook's first cell in the workbench's kernel, and opens the UI links it gives through the hub. The other
learner is refused at every door: the hub, the services, the files.
"""

from __future__ import annotations

import base64
import os
import re
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tutorial_lib.clients.hub import HubLearner
from tutorial_lib.services import hub

pytestmark = pytest.mark.stage
FIRST_CELL = "import tutorial_lib as tutorial\n\nwb = tutorial.up(HOME)\nwb.links()"
LINK = re.compile(r"\[(Airflow|Dagster) UI\]\(([^)]+)\)")


@dataclass
class Seat:
    """A learner at the hub: the local user, their browser session, what their first cell and terminal gave"""

    user: hub.Learner
    browser: HubLearner
    up: object
    links: dict[str, str]

    def basic_password(self) -> str:
        """The workspace's password, which the learner reads from their secrets folder."""
        return (self.user.workspace / "secrets" / "airflow_password").read_text().strip()

    def basic(self) -> dict[str, str]:
        """The workspace's login, as the learner types it into the browser's prompt."""
        login = f"tutorial:{self.basic_password()}"
        return {"Authorization": "Basic " + base64.b64encode(login.encode()).decode()}


@pytest.fixture(scope="module")
def room() -> Iterator[tuple[hub.RunningHub, list[Seat]]]:
    reason = hub.missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"The JupyterHub test cannot run: {reason}")
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="ahub-"))
    root.chmod(0o755)
    learners = hub.add_learners(root / "h", 2)
    running = None
    try:
        running = hub.start(root / "hub", learners)
        seats = []
        for learner in learners:
            browser = HubLearner(running.url, learner.name, learner.password)
            browser.log_in()
            browser.start_server()
            up = browser.terminal("airlift-tutorial up", timeout=300)
            kernel = browser.start_kernel("airlift-tutorial")
            cell = browser.run_cell(kernel, "HOME = None\n" + FIRST_CELL, timeout=300)
            if cell.error:
                subprocess.run(["cp", "-r", str(learner.workspace / "logs"), "/tmp/hubtry/failed-logs"])
            assert cell.error is None, cell.error
            seats.append(Seat(learner, browser, up, dict(LINK.findall(cell.text("text/markdown")))))
        yield running, seats
    finally:
        if running is not None:
            running.stop()
        hub.remove_learners(learners)
        subprocess.run(["rm", "-rf", str(root)], check=False)


def test_the_hub_gives_each_learner_the_kernel_the_command_a_private_home_and_a_workspace_of_their_own(
    room: tuple[hub.RunningHub, list[Seat]],
) -> None:
    _, seats = room
    for seat in seats:
        assert "airlift-tutorial" in seat.browser.kernel_specs()["kernelspecs"]
        found = seat.browser.terminal('command -v airlift-tutorial; echo "home=$AIRLIFT_TUTORIAL_HOME"')
        assert found.status == 0
        assert "/usr/local/bin/airlift-tutorial" in found.output
        assert f"home={seat.user.workspace}" in found.output
        assert stat.S_IMODE(seat.user.home.stat().st_mode) == 0o700
        assert stat.S_IMODE(seat.user.workspace.stat().st_mode) == 0o700
        assert (
            seat.user.home / "airlift-tutorial" / "notebooks" / "01_peer.ipynb"
        ).stat().st_uid == seat.user.uid


def test_a_learner_brings_up_a_workspace_from_a_terminal_and_their_notebook_cell_reuses_it(
    room: tuple[hub.RunningHub, list[Seat]],
) -> None:
    _, seats = room
    for seat in seats:
        assert seat.up.status == 0, seat.up.output
        assert "Ready in" in seat.up.output
        assert set(seat.links) == {"Airflow", "Dagster"}
        for link in seat.links.values():
            assert re.fullmatch(rf"/user/{seat.user.name}/proxy/absolute/\d+/", link)
        assert (seat.user.workspace / "state.json").stat().st_uid == seat.user.uid


def test_a_learner_opens_their_ui_links_through_the_hub_with_the_workspace_login(
    room: tuple[hub.RunningHub, list[Seat]],
) -> None:
    _, seats = room
    for seat in seats:
        dagster, airflow = seat.links["Dagster"], seat.links["Airflow"]
        assert seat.browser.get(dagster).status_code == 401
        page = seat.browser.get(dagster, headers=seat.basic())
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert seat.browser.get(airflow).status_code == 302  # to Airflow's login page
        dags = seat.browser.get(f"{airflow}api/v1/dags", headers=seat.basic())
        assert dags.status_code == 200 and "rebuild_customers_list" in dags.text


def test_a_learner_is_refused_by_the_other_learners_server_services_and_files(
    room: tuple[hub.RunningHub, list[Seat]],
) -> None:
    _, (alice, bob) = room
    assert alice.browser.get(f"/user/{bob.user.name}/lab").status_code in (302, 403, 404)
    assert alice.browser.get(f"/user/{bob.user.name}/api/status").status_code == 403
    own_proxy = f"/user/{alice.user.name}/proxy/absolute/"
    bob_dagster = own_proxy + bob.links["Dagster"].rsplit("/absolute/", 1)[1]
    assert alice.browser.get(bob_dagster).status_code == 401
    assert alice.browser.get(bob_dagster, headers=alice.basic()).status_code == 401
    # Each service serves only under its learner's path, which Alice's proxy cannot produce. From her
    # terminal, straight to the loopback ports with Bob's paths, the services refuse her, with her login or
    # none; the same probe with Bob's login gets in, so the refusals are the services'.
    for service, api in (("Dagster", "server_info"), ("Airflow", "api/v1/dags")):
        port = bob.links[service].rstrip("/").rsplit("/", 1)[1]
        url = f"http://127.0.0.1:{port}{bob.links[service]}{api}"
        codes = {}
        for who, login in (("none", ""), ("alice", alice.basic_password()), ("bob", bob.basic_password())):
            option = f"-u tutorial:{login}" if login else ""
            probe = alice.browser.terminal(f"curl -s -o /dev/null -w 'code=%{{http_code}}' {option} {url}")
            codes[who] = re.search(r"code=(\d+)", probe.output).group(1)
        assert codes["none"] in ("401", "403") and codes["alice"] in ("401", "403"), (service, codes)
        assert codes["bob"] == "200", (service, codes)
    data = bob.user.workspace / "data"
    peek = subprocess.run(
        ["runuser", "-u", alice.user.name, "--", "ls", str(data)], capture_output=True, text=True, timeout=60
    )
    assert peek.returncode != 0 and "Permission denied" in peek.stderr


def test_doctor_passes_for_a_learner_in_their_hub_terminal_services_included(
    room: tuple[hub.RunningHub, list[Seat]],
) -> None:
    _, seats = room
    checked = seats[0].browser.terminal("airlift-tutorial doctor --hub --learners 2", timeout=300)
    assert checked.status == 0, checked.output
    for name in ("python", "kernel", "command in a terminal", "workspace"):
        assert re.search(rf"PASS\s+as {seats[0].user.name}: {name}:", checked.output), checked.output
    # the services of a throw-away workspace start, answer and stop, as this learner
    assert re.search(r"PASS\s+services: up in \d+ s; Airflow lists 1 DAG", checked.output), checked.output
    assert "A class of 2 needs about" in checked.output


def test_learners_stop_their_workspaces_from_a_terminal_and_nothing_of_theirs_runs_on(
    room: tuple[hub.RunningHub, list[Seat]],
) -> None:
    running, seats = room
    for seat in seats:
        down = seat.browser.terminal("airlift-tutorial down", timeout=120)
        assert down.status == 0, down.output
    names = {seat.user.name for seat in seats}
    left = subprocess.run(
        ["ps", "-o", "user:40=,args=", "-u", ",".join(names)], capture_output=True, text=True
    )
    services = [line for line in left.stdout.splitlines() if "airflow" in line or "dagster" in line]
    assert services == []
    shared = Path(tempfile.gettempdir())
    assert [path for seat in seats for path in shared.glob(f"airlift-tutorial-{seat.user.uid}-*")] == []
