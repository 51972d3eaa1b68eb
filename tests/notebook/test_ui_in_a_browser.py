"""What a learner looks at, in a real browser (Debian's Chromium driven by Playwright): the committed
notebooks as JupyterLab renders them, and every UI page the notebooks point to, opened through
jupyter-server-proxy behind Jupyter's login. Screenshots of every page are kept in the session's temporary
folder, under `screenshots/`, with those of a learner typing one exercise into their file and checking it."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import nbformat
import pytest
import requests
from conftest import PROXY_BASE, jupyter_server

import tutorial_lib
from tutorial_lib import env_vars, learner_project, services, stages
from tutorial_lib.cli import runner
from tutorial_lib.notebook import proofs, screenshots, ui
from tutorial_lib.workspace import Workspace

pytestmark = pytest.mark.stage
CHROMIUM = screenshots.CHROMIUM
DAY = "2026-04-01"
DAG_LEVEL_DAY = "2026-04-02"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium through Playwright; missing, it fails the suite in CI and skips it elsewhere, saying how."""
    if not CHROMIUM.exists():
        message = (
            f"No Chromium at {CHROMIUM}: `apt-get install chromium` (Debian/Ubuntu), or set "
            "AIRLIFT_TUTORIAL_CHROMIUM to a Chromium binary. Playwright's own browser download is not used."
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go."""
    return tmp_path_factory.mktemp("screenshots")


def _jupyter_tab(browser: Any, jupyter: tuple[str, str], **options: Any) -> Any:
    """A tab of a new browser context, logged in to Jupyter (the token link sets its cookie)."""
    url, token = jupyter
    tab = browser.new_context(viewport={"width": 1400, "height": 1000}, **options).new_page()
    tab.goto(f"{url}{PROXY_BASE}lab?token={token}")
    tab.wait_for_selector(".jp-LabShell", timeout=120_000)
    return tab


@pytest.fixture(scope="module")
def page(browser: Any, jupyter: tuple[str, str], stage_home: Path) -> Iterator[Any]:
    """A browser tab logged in to Jupyter, as a learner on a hub, who gives the workspace's user and password
    when Dagster's UI asks for them (Playwright answers the browser's login prompt)."""
    user, password = services.login(Workspace(stage_home).ensure())
    login = {"username": user, "password": password, "origin": jupyter[0]}
    tab = _jupyter_tab(browser, jupyter, http_credentials=login)
    try:
        yield tab
    finally:
        tab.context.close()


def _shows(tab: Any, texts: list[str], shot: Path, timeout: float = 90) -> list[str]:
    """Wait until the page shows each of `texts` (shadow DOM included, as in Airflow's React views), and take
    its picture as the docs' pictures are taken (no pop-up in the way); return the texts it never showed."""
    missing = screenshots.capture(tab, tab.url, shot, texts, timeout=timeout, navigate=False)
    if missing:  # shown by pytest when the test fails
        print(f"--- {shot.name}: the page's text ---\n{tab.evaluate('() => document.body.innerText')[:4000]}")
    return missing


@pytest.mark.parametrize("stage", list(runner.stage_notebooks()))
def test_jupyterlab_renders_each_committed_notebook_without_error_output(
    page: Any, jupyter: tuple[str, str], shots: Path, stage: str
) -> None:
    url, _ = jupyter
    name = runner.stage_notebooks()[stage].name
    page.goto(f"{url}{PROXY_BASE}lab/tree/notebooks/{name}?reset")  # ?reset: no tabs restored from before
    page.wait_for_selector(f".lm-TabBar-tab.lm-mod-current:has-text('{name}')", timeout=120_000)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    missing = _shows(page, ["Apply it to your own project", ": as expected"], shots / f"notebook-{stage}.png")
    assert missing == [], f"{name} does not show {missing}; see {shots}"
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    shown = page.evaluate("() => document.body.innerText")
    assert "Traceback" not in shown and "not as expected" not in shown
    if stage in ("peer", "observe", "component"):  # a mermaid diagram: the DAG (peer), the lineage
        page.wait_for_selector(".jp-RenderedMermaid img[src^='data:image/svg+xml']", timeout=60_000)


@pytest.fixture(scope="module")
def migrated(stage_home: Path) -> Iterator[tuple[tutorial_lib.Workbench, Any, str]]:
    """The stage workspace in the migrate stage after one run with `build_dbt_models` proxied: the workbench,
    the Airflow run, and the Dagster run the proxied task launched. Left at the peer stage's start after."""
    wb = tutorial_lib.up(stage_home, show=False)
    wb.start_stage("migrate")
    wb.set_proxied({"build_dbt_models": True})
    run = wb.backfill(DAY)
    wb.dagster.wait_for_materializations(list(proofs.TASK_ASSETS), after=run.started_at, partitions=[DAY])
    tags = {
        "dagster-airlift/airflow-dag-run-id": run.run_id,
        "dagster-airlift/airflow-task-id": "build_dbt_models",
    }
    try:
        yield wb, run, wb.dagster.runs(tags=tags)[0]["runId"]
    finally:
        wb.start_stage("peer")


def _visit(tab: Any, url: str, pages: dict[str, tuple[str, list[str]]], shots: Path) -> dict[str, list[str]]:
    """Open each page through the Jupyter server; return, per page, the promised texts it does not show."""
    problems = {}
    for name, (link, texts) in pages.items():
        assert link.startswith(PROXY_BASE), link  # through the learner's own Jupyter server
        tab.goto(f"{url}{link}")
        missing = _shows(tab, texts, shots / f"ui-{name.replace(' ', '-')}.png")
        if missing:
            problems[name] = missing
    return problems


def test_a_refresh_takes_the_proxied_tag_picture_through_airflows_login(
    migrated: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wb, _, _ = migrated
    monkeypatch.setenv(env_vars.UI_PROXY, "off")  # as `make refresh` runs: no Jupyter server in between
    monkeypatch.setenv(env_vars.SCREENSHOTS, str(tmp_path))
    wb.workspace.update_state(stage="migrate")
    shot = screenshots.wanted(wb.workspace, "Airflow: DAGs")
    picture = screenshots.take(ui.dag_list(wb.workspace), shot, wb.workspace.home)
    assert picture == tmp_path / "migrate-marked-as-proxied.png" and picture.stat().st_size > 10_000
    with pytest.raises(RuntimeError, match=r"did not show \[.no such.\]"):
        screenshots.take(ui.dag_list(wb.workspace), replace(shot, texts=("no such",)), wb.workspace.home, 3)


def test_every_ui_pointer_of_the_notebooks_shows_what_it_promises(
    page: Any, jupyter: tuple[str, str], migrated: tuple, shots: Path
) -> None:
    url, _ = jupyter
    wb, run, dbt_run = migrated
    ws = wb.workspace
    screenshots.log_in_to_airflow(page, f"{url}{services.ui_links(ws)['airflow']}", ws)
    problems = _visit(
        page,
        url,
        {
            "asset graph": (
                ui.asset_graph(ws),
                ["raw_customers", "stg_orders", "customers_csv", tutorial_lib.DAG_ID],
            ),
            "partitions": (
                ui.asset_partitions(ws, "customers_csv"),
                ["Partitions", "Materialized (1)", "2026-01-01"],
            ),
            "DAG list": (ui.dag_list(ws), [tutorial_lib.DAG_ID, "1 Task Marked as Proxied to Dagster"]),
            "proxied task log": (
                ui.task_log(ws, tutorial_lib.DAG_ID, run.run_id, "build_dbt_models"),
                ["Launched Dagster run", dbt_run],
            ),
            "Dagster run": (ui.dagster_run(ws, dbt_run), [dbt_run[:8], "jaffle_shop_dbt_assets"]),
        },
        shots,
    )
    # The workbench marks Dagster's first-visit dialog as seen when Dagster starts (`setNuxSeen`).
    assert page.get_by_text("Join the Dagster community").count() == 0
    wb.use_definitions("decommission")
    problems |= _visit(
        page,
        url,
        {
            "schedule": (
                ui.schedule(ws, tutorial_lib.SCHEDULE_NAME),
                [tutorial_lib.SCHEDULE_NAME, "0 0 * * *"],
            ),
            "checks": (ui.asset_checks(ws, "customers_csv"), ["validate_exported_csv"]),
        },
        shots,
    )
    # The DAG-level variant's pointers: the DAG as one override task, and the Dagster run it launched.
    wb.start_stage("dag_level")
    wb.set_dag_proxied(True)
    whole = wb.backfill(DAG_LEVEL_DAY)
    override = tutorial_lib.notebook.workbench.override_task(tutorial_lib.DAG_ID)
    launched = wb.dagster.runs(tags={"dagster-airlift/airflow-dag-run-id": whole.run_id})[0]["runId"]
    problems |= _visit(
        page,
        url,
        {
            "DAG graph, proxied whole": (ui.dag_graph(ws, tutorial_lib.DAG_ID), [override]),
            "DAG list, proxied whole": (ui.dag_list(ws), ["Dag overriden to Dagster"]),
            "override task log": (
                ui.task_log(ws, tutorial_lib.DAG_ID, whole.run_id, override),
                ["Launched Dagster run", launched],
            ),
            "Dagster run of the whole DAG": (ui.dagster_run(ws, launched), [launched[:8], "customers_csv"]),
        },
        shots,
    )
    assert problems == {}, f"pages missing what the notebooks promise: {problems}; screenshots in {shots}"


def test_the_dagster_ui_shows_nothing_to_a_browser_without_the_workspace_login(
    browser: Any, jupyter: tuple[str, str], running: services.Services
) -> None:
    from playwright.sync_api import Error as PlaywrightError

    tab = _jupyter_tab(browser, jupyter)  # logged in to Jupyter, as any user of the hub is to their own
    link = f"{jupyter[0]}{running.links()['dagster']}"
    try:
        # A request with the browser's cookies (Jupyter's login, not Dagster's): GraphQL answers 401.
        # (Not `fetch` in the page: Chromium would wait for the login prompt's answer.)
        assert tab.request.post(f"{link}graphql", data={"query": "{ version }"}).status == 401
        # A page load: the login prompt, which a browser without the password can only dismiss.
        answered: list[tuple[int, str]] = []
        tab.on("response", lambda response: answered.append((response.status, response.url)))
        with pytest.raises(PlaywrightError, match="ERR_INVALID_AUTH_CREDENTIALS"):
            tab.goto(link)
        # Dagster's UI never loaded: nothing under its address answered anything but 401.
        assert answered and {status for status, url in answered if url.startswith(link)} == {401}, answered
    finally:
        tab.context.close()


# ---- a learner writes the partitions exercise in JupyterLab

EXERCISE = "partitions"
# The command notebook 01 asks the learner to type in a terminal, as it is written there.
TERMINAL_COMMAND = "airlift-tutorial airflow dags trigger rebuild_customers_list"
FILE = Path("partitions.py")
STARTER_LINE = "daily_partitions = None  # no partitions yet"
WRONG = 'daily_partitions = DailyPartitionsDefinition(start_date="2026-01-02", timezone="UTC")'
RIGHT = 'daily_partitions = DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC")'


@pytest.fixture(scope="module")
def learner_lab(
    stage_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, Path]]:
    """JupyterLab serving the folder that holds the test workspace, as a hub user's home holds theirs."""
    home = {
        "AIRLIFT_TUTORIAL_HOME": str(stage_home)
    }  # a hub sets it for its users; `make lab` has .workbench
    with jupyter_server(stage_home.parent, tmp_path_factory.mktemp("learner-lab"), env=home) as (url, token):
        yield url, token, stage_home.parent


def _starter(root: Path) -> None:
    order = stages.definitions_names()
    learner_project.install(root, solved=lambda region: order.index(region) < order.index(EXERCISE))


def _replace_line(tab: Any, number: int, text: str) -> None:
    """In the open editor: select line `number` (from 0) and type `text` over it, as a learner would."""
    editor = tab.locator(".jp-FileEditor .cm-content").first
    editor.click()
    tab.keyboard.press("Control+Home")
    for _ in range(number):
        tab.keyboard.press("ArrowDown")
    tab.keyboard.press("Home")
    tab.keyboard.press("Shift+End")
    tab.keyboard.type(text, delay=5)
    tab.keyboard.press("Control+s")


def _saved(path: Path, text: str, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in path.read_text():
            return True
        time.sleep(0.2)
    return False


def _run_check(tab: Any, url: str, notebook: str, expect: str, shot: Path) -> str:
    """Open the notebook, run its one cell, wait for `expect` in the output; screenshot; return the output."""
    tab.goto(f"{url}/lab/tree/{notebook}")
    cell = tab.locator(".jp-Notebook .jp-Cell .cm-content").first
    cell.wait_for(timeout=120_000)
    tab.get_by_text("| Idle").first.wait_for(timeout=120_000)  # the kernel has started: the status bar says
    cell.click()
    tab.keyboard.press("Shift+Enter")
    output = tab.locator(".jp-OutputArea-output").filter(has_text=expect).first
    try:
        output.wait_for(timeout=180_000)
    finally:
        tab.screenshot(path=str(shot), full_page=False)
    return output.inner_text()


def test_a_learner_types_the_partitions_exercise_in_jupyterlab_and_the_check_grades_each_save(
    browser: Any, learner_lab: tuple[str, str, Path], stage_home: Path, shots: Path
) -> None:
    url, token, root = learner_lab
    wb = tutorial_lib.up(stage_home, show=False)
    wb.start_stage(EXERCISE)
    project = wb.workspace.definitions_dir
    _starter(project)
    learner_file = project / FILE
    number = learner_file.read_text().splitlines().index(STARTER_LINE)
    notebook = root / "check-your-work.ipynb"
    cell = f"import tutorial_lib\n\nwb = tutorial_lib.up({str(stage_home)!r}, show=False)\n"
    cell += f"wb.check({EXERCISE!r})"
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)], metadata={"kernelspec": kernel})
    nbformat.write(nb, notebook)
    folder = learner_file.relative_to(root)
    tab = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    try:
        tab.goto(f"{url}/lab?token={token}")
        tab.wait_for_selector(".jp-LabShell", timeout=120_000)
        tab.goto(f"{url}/lab/tree/{folder}")
        tab.locator(".jp-FileEditor .cm-content").first.wait_for(timeout=120_000)
        tab.get_by_text("TODO (partitions)").first.wait_for(timeout=30_000)
        tab.screenshot(path=str(shots / "learner-1-starter.png"), full_page=False)

        _replace_line(tab, number, WRONG)
        assert _saved(learner_file, WRONG), learner_file.read_text()
        failing = _run_check(tab, url, notebook.name, "not done yet", shots / "learner-2-failing-check.png")
        assert "start 2026-01-02 but the DAG starts 2026-01-01" in failing, failing

        tab.goto(f"{url}/lab/tree/{folder}")
        tab.locator(".jp-FileEditor .cm-content").first.wait_for(timeout=120_000)
        _replace_line(tab, number, RIGHT)
        assert _saved(learner_file, RIGHT), learner_file.read_text()
        passing = _run_check(
            tab, url, notebook.name, "partitions: done", shots / "learner-3-passing-check.png"
        )
        assert "every task's asset has daily partitions" in passing, passing
        assert (
            learner_file.read_text().splitlines()[number] == RIGHT
        )  # what the learner typed, saved as typed
    finally:
        tab.context.close()
        notebook.unlink(missing_ok=True)
        learner_project.install(project, solved=lambda region: True)
        services.wait_for_dag_files(wb.workspace, wb.airflow, show=False)


# ---- a learner types a notebook's terminal command in JupyterLab's terminal


def test_a_notebooks_terminal_command_runs_as_typed_in_a_jupyterlab_terminal(
    browser: Any, learner_lab: tuple[str, str, Path], stage_home: Path, shots: Path
) -> None:
    url, token, _root = learner_lab
    assert TERMINAL_COMMAND in runner.stage_notebooks()["peer"].read_text()  # typed as the notebook says
    wb = tutorial_lib.up(stage_home, show=False)
    wb.start_stage("peer")
    before = {run["dag_run_id"] for run in wb.airflow.dag_runs(tutorial_lib.DAG_ID)}
    tab = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    try:
        tab.goto(f"{url}/lab?token={token}&reset")  # reset: no tabs of an earlier test, the Launcher in view
        tab.wait_for_selector(".jp-LabShell", timeout=120_000)
        tab.locator(".jp-LauncherCard", has_text="Terminal").first.click()  # as a learner opens one
        terminal = tab.locator(".jp-Terminal .xterm").first
        terminal.wait_for(timeout=120_000)
        terminal.click()
        shown = tab.locator(".xterm-accessibility-tree").first  # the terminal's text (screen reader mode)
        found = f"{Path(sys.executable).parent}/airlift-tutorial"
        try:
            shown.filter(has_text="learner-lab").wait_for(state="attached", timeout=60_000)  # the prompt
            for line, then in (("which airlift-tutorial", found), (TERMINAL_COMMAND, "queued")):
                tab.keyboard.type(line, delay=5)
                tab.keyboard.press("Enter")
                shown.filter(has_text=then).wait_for(state="attached", timeout=120_000)
        finally:
            tab.screenshot(path=str(shots / "terminal-trigger.png"), full_page=False)
        text = shown.text_content() or ""
        assert found in text and "command not found" not in text, text
        after = [r for r in wb.airflow.dag_runs(tutorial_lib.DAG_ID) if r["dag_run_id"] not in before]
        assert len(after) == 1 and after[0]["run_type"] == "manual", after
        print(f"the terminal showed:\n{text[-1500:]}")
        wb.airflow.wait_for_run(tutorial_lib.DAG_ID, after[0]["dag_run_id"], timeout=300)
    finally:
        tab.context.close()
        for terminal in requests.get(f"{url}/api/terminals?token={token}", timeout=30).json():
            requests.delete(f"{url}/api/terminals/{terminal['name']}?token={token}", timeout=30)
        wb.clear_dag_runs()
