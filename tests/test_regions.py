"""Solution regions: one marked reference file makes the starter and the solution, both of them valid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tutorial_lib import learner_project, regions, stages

MARKED = """\
import os

def f():
    # >>> observe: Return the answer.
    # ... It is a number.
    return 42
    # --- starter
    # return None
    # <<<
"""


def test_a_region_renders_as_the_reference_or_as_a_todo_with_its_starter() -> None:
    assert regions.render(MARKED, lambda name: True) == "import os\n\ndef f():\n    return 42\n"
    starter = regions.render(MARKED, lambda name: False)
    assert starter == (
        "import os\n\ndef f():\n"
        "    # TODO (observe): Return the answer.\n    #   It is a number.\n    return None\n"
    )
    assert regions.names_in(MARKED) == ["observe"]
    assert regions.hints(MARKED, "observe") == ["Return the answer. It is a number."]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("# >>> observe: x\ncode\n", "not closed"),
        ("# >>> nope: x\ncode\n# <<<\n", "'nope' is not a definitions module"),
        ("# <<<\n", "a marker outside a region"),
        ("# >>> observe: x\n# >>> observe: y\n# <<<\n", "regions do not nest"),
        ("  # >>> observe: x\n  a\n  # --- starter\nb\n  # <<<\n", "must start with `  # `"),
    ],
)
def test_a_malformed_region_is_refused_with_its_line(text: str, problem: str) -> None:
    with pytest.raises(regions.RegionError, match=problem):
        regions.parse(text, source="f.py")


FILES = learner_project.files()
PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


@pytest.mark.parametrize("file", FILES, ids=str)
def test_every_reference_file_is_valid_code_as_starter_and_as_solution(file: Path) -> None:
    for solved in (lambda name: False, lambda name: True):
        text = learner_project.rendered(file, solved)
        if file.suffix == ".py":
            compile(text, str(file), "exec")
        elif file.suffix == ".yaml":
            yaml.safe_load(text)


def test_each_exercise_of_the_registry_has_a_place_to_write_it() -> None:
    assert {name for name in stages.definitions_names() if learner_project.files_of(name)} == set(
        stages.definitions_names()
    )


def test_the_solutions_are_ruff_clean_and_the_starters_too_but_for_the_imports_they_will_need(
    tmp_path: Path,
) -> None:
    for form, solved in (("solution", lambda name: True), ("starter", lambda name: False)):
        folder = tmp_path / form
        for file in FILES:
            if file.suffix == ".py":
                (folder / file).parent.mkdir(parents=True, exist_ok=True)
                (folder / file).write_text(learner_project.rendered(file, solved))
        # a starter keeps the imports its TODOs need, and a TODO where code goes may leave odd blank lines
        ignore = ["--ignore", "F401,I001"] if form == "starter" else []
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "ruff",
                "check",
                "--no-cache",
                "--config",
                str(PYPROJECT),
                *ignore,
                str(folder),
            ],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, f"{form}:\n{result.stdout}"
