"""Pictures of the UI pages the notebooks point to, taken at the moment a notebook points to them.

The refresh tool (`make refresh`) runs each stage with the exercises solved and AIRLIFT_TUTORIAL_SCREENSHOTS
naming a folder. Then `ui.pointer`, for each page in its stage's `pictures` (`tutorial_lib/stages.py`), has
Chromium (through Playwright, in a process of its own: the kernel's event loop would refuse Playwright's
synchronous API) log in, wait until the page shows what the notebook promises, check that no pop-up covers
it, and save the picture. The notebooks embed the pictures from `docs/screenshots/`; the browser test takes
its own with the same `capture`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutorial_lib import env_vars, services, stages
from tutorial_lib.workspace import REPO_ROOT, Workspace

DOCS = REPO_ROOT / "docs" / "screenshots"
CHROMIUM = Path(os.environ.get("AIRLIFT_TUTORIAL_CHROMIUM", "/usr/bin/chromium"))
VIEWPORT = {"width": 1400, "height": 860}
# A pop-up: Blueprint's dialogs and overlays (Dagster), Bootstrap's modals (Airflow), JupyterLab's toasts (its
# "official Jupyter news?" question among them).
POP_UPS = (
    "[role=dialog]:visible, .bp5-overlay-open:visible, .bp4-overlay-open:visible, .modal.show:visible, "
    ".Toastify__toast:visible"
)


@dataclass(frozen=True)
class Shot:
    """One picture: the stage whose notebook takes and shows it, and the registry's `stages.Picture`."""

    stage: str
    label: str  # the label of the `ui.pointer` that points to the page
    name: str  # the file, docs/screenshots/<name>.png
    texts: tuple[str, ...]
    caption: str

    @property
    def file(self) -> str:
        """The picture's file name."""
        return f"{self.name}.png"


SHOTS = tuple(
    Shot(stage.name, picture.label, picture.name, picture.texts, picture.caption)
    for stage in stages.STAGES
    for picture in stage.pictures
)


class PopUpInTheWay(RuntimeError):
    """A dialog or overlay covers the page: the picture would show it instead of the page."""


def wanted(workspace: Workspace, label: str) -> Shot | None:
    """The picture a pointer takes: registered for the workspace's stage and the label, when pictures are
    being taken (AIRLIFT_TUTORIAL_SCREENSHOTS names their folder)."""
    if not os.environ.get(env_vars.SCREENSHOTS):
        return None
    stage = workspace.read_state().get("stage")
    return next((shot for shot in SHOTS if (shot.stage, shot.label) == (stage, label)), None)


def capture(
    tab: Any,
    url: str,
    out: Path,
    texts: tuple[str, ...] | list[str],
    timeout: float = 90,
    *,
    navigate: bool = True,
) -> list[str]:
    """Open `url` in a Playwright tab (unless it is open already), wait for each of `texts`, and save a
    picture to `out`; the texts it never showed. Raises PopUpInTheWay when a dialog covers the page."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    if navigate:
        tab.goto(url)
    deadline = time.monotonic() + timeout
    missing = []
    for text in texts:
        try:
            left = max(deadline - time.monotonic(), 1)
            tab.get_by_text(text, exact=False).first.wait_for(state="attached", timeout=left * 1000)
        except PlaywrightTimeout:
            missing.append(text)
    try:  # Dagster draws its graph's nodes first and fills them in ("Loading...") a moment later
        tab.wait_for_function("() => !/Loading(\\.\\.\\.|…)/.test(document.body.innerText)", timeout=15_000)
    except PlaywrightTimeout:
        pass  # the picture is taken as the page is
    tab.wait_for_timeout(500)  # the last requests drawn
    out.parent.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(out), full_page=False)
    covering = tab.locator(POP_UPS)
    if covering.count():
        raise PopUpInTheWay(f"a pop-up covers {url}: {covering.first.inner_text()[:200]!r} (picture: {out})")
    return missing


def take(url: str, shot: Shot, home: str | Path | None = None, timeout: float = 90) -> Path:
    """Take one registered picture in a process of its own (the kernel's event loop refuses Playwright's
    synchronous API); the picture's path."""
    folder = Path(os.environ.get(env_vars.SCREENSHOTS) or DOCS)
    out = folder / shot.file
    argv = [sys.executable, "-m", __name__, f"--timeout={timeout}", url, str(out), *shot.texts]
    if home is not None:
        argv[3:3] = ["--home", str(home)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=240)
    if done.returncode:
        raise RuntimeError(f"The picture {shot.file} was not taken: {done.stderr.strip()[-1500:]}")
    return out


def direct(workspace: Workspace, url: str) -> tuple[str, str | None]:
    """A UI link as Chromium opens it here, and the service it belongs to. A link through Jupyter (a path:
    the service was started behind jupyter-server-proxy) goes straight to the service's port instead, which
    serves the same path."""
    for name, link in services.ui_links(workspace).items():
        if url.startswith(link):
            if link.startswith("/"):
                port = (services.service_record(workspace, name) or {})["port"]
                return f"http://127.0.0.1:{port}{url}", name
            return url, name
    return url, None


def log_in_to_airflow(tab: Any, base: str, workspace: Workspace) -> None:
    """Airflow's own login form, as a learner fills it in."""
    tab.goto(f"{base}login/")
    tab.fill("input[name=username]", services.AIRFLOW_USER)
    tab.fill("input[name=password]", workspace.secret("airflow_password"))
    tab.click("input[type=submit], button[type=submit]")
    tab.wait_for_load_state()


def main(argv: list[str] | None = None) -> int:
    """Take one picture: log in to the workspace's services, open the page, wait for the texts, save it."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--home", default=None)
    parser.add_argument("--timeout", type=float, default=90, help="seconds to wait for the texts")
    parser.add_argument("url")
    parser.add_argument("out", type=Path)
    parser.add_argument("texts", nargs="*")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    workspace = Workspace.of(args.home)
    user, password = services.login(workspace)
    url, service = direct(workspace, args.url)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"] if os.geteuid() == 0 else []
        )
        try:
            context = browser.new_context(
                viewport=VIEWPORT, http_credentials={"username": user, "password": password}
            )
            tab = context.new_page()
            if service == "airflow":
                airflow, _ = direct(workspace, services.ui_links(workspace)["airflow"])
                log_in_to_airflow(tab, airflow, workspace)
            missing = capture(tab, url, args.out, args.texts, timeout=args.timeout)
        finally:
            browser.close()
    if missing:
        print(f"{args.url} did not show {missing}; the picture is {args.out}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
