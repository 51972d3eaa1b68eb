"""The pictures of UI pages the notebooks embed: registered where a notebook points, kept in the repository,
shown in the stage that points to them, and taken only while a refresh asks for them."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from tutorial_lib import env_vars
from tutorial_lib.cli import runner
from tutorial_lib.notebook import screenshots
from tutorial_lib.workspace import REPO_ROOT, Workspace

IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+\.png)\)")


def _cells(stage: str, kind: str) -> list[str]:
    notebook = nbformat.read(runner.stage_notebooks()[stage], as_version=4)
    return [cell.source for cell in notebook.cells if cell.cell_type == kind]


@pytest.mark.parametrize("shot", screenshots.SHOTS, ids=lambda shot: shot.name)
def test_each_picture_is_taken_by_a_pointer_of_its_stage_and_embedded_there(shot: screenshots.Shot) -> None:
    pointers = [source for source in _cells(shot.stage, "code") if "ui.pointer(" in source]
    assert any(f'"{shot.label}"' in source for source in pointers), f"no pointer labelled {shot.label!r}"
    assert (screenshots.DOCS / shot.file).stat().st_size > 10_000, "run `make refresh` to take it"
    embedded = [IMAGE.findall(source) for source in _cells(shot.stage, "markdown")]
    assert f"../docs/screenshots/{shot.file}" in sum(embedded, []), (
        f"{shot.stage}'s notebook does not show it"
    )


def test_the_pictures_have_distinct_names_and_each_pointer_at_most_one() -> None:
    assert len({shot.name for shot in screenshots.SHOTS}) == len(screenshots.SHOTS)
    assert len({(shot.stage, shot.label) for shot in screenshots.SHOTS}) == len(screenshots.SHOTS)


def test_every_picture_a_notebook_or_doc_links_to_exists() -> None:
    documents = [
        *runner.stage_notebooks().values(),
        REPO_ROOT / "README.md",
        *(REPO_ROOT / "docs").glob("*.md"),
    ]
    for document in documents:
        for link in IMAGE.findall(document.read_text()):
            if not link.startswith("http"):
                assert (document.parent / link).resolve().exists(), f"{document.name} shows a missing {link}"


def test_no_picture_is_taken_unless_a_refresh_asks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace(tmp_path / "ws").ensure()
    ws.update_state(stage="peer")
    monkeypatch.delenv(env_vars.SCREENSHOTS, raising=False)
    assert screenshots.wanted(ws, "Dagster: asset lineage") is None
    monkeypatch.setenv(env_vars.SCREENSHOTS, str(tmp_path / "pictures"))
    assert screenshots.wanted(ws, "Dagster: asset lineage").name == "peer-asset-lineage"
    assert screenshots.wanted(ws, "a label no pointer has") is None
    ws.update_state(stage="observe")
    assert screenshots.wanted(ws, "Dagster: asset lineage").name == "observe-asset-lineage"
