"""What a learner looks at, in a real browser (Debian's Chromium driven by Playwright): the committed
notebooks as JupyterLab renders them, and every UI page the notebooks point to, opened through
jupyter-server-proxy behind Jupyter's login. Screenshots of every page are kept in the session's temporary
folder, under `screenshots/`."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PROXY_BASE

import tutorial_lib
from tutorial_lib import services
from tutorial_lib.cli import runner
from tutorial_lib.notebook import proofs, ui
from tutorial_lib.workspace import Workspace

pytestmark = pytest.mark.stage
CHROMIUM = Path(os.environ.get("AIRLIFT_TUTORIAL_CHROMIUM", "/usr/bin/chromium"))
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
    """Wait until the page shows each of `texts` (shadow DOM included, as in Airflow's React views);
    screenshot; return those it never showed."""
    deadline = time.monotonic() + timeout
    missing = []
    for text in texts:
        try:
            left = max(deadline - time.monotonic(), 1)
            tab.get_by_text(text, exact=False).first.wait_for(state="attached", timeout=left * 1000)
        except Exception:  # Playwright's timeout: reported below
            missing.append(text)
    tab.screenshot(path=str(shot), full_page=False)
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
    missing = _shows(page, ["Apply it to your own project", ": passed"], shots / f"notebook-{stage}.png")
    assert missing == [], f"{name} does not show {missing}; see {shots}"
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    shown = page.evaluate("() => document.body.innerText")
    assert "Traceback" not in shown and ": FAILED" not in shown
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


def _log_in_to_airflow(tab: Any, url: str, link: str, workspace: Any) -> None:
    """Airflow's own login form, as a learner fills it in."""
    tab.goto(f"{url}{link}login/")
    tab.fill("input[name=username]", services.AIRFLOW_USER)
    tab.fill("input[name=password]", workspace.secret("airflow_password"))
    tab.click("input[type=submit], button[type=submit]")
    tab.wait_for_load_state()


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


def test_every_ui_pointer_of_the_notebooks_shows_what_it_promises(
    page: Any, jupyter: tuple[str, str], migrated: tuple, shots: Path
) -> None:
    url, _ = jupyter
    wb, run, dbt_run = migrated
    ws = wb.workspace
    _log_in_to_airflow(page, url, services.ui_links(ws)["airflow"], ws)
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
