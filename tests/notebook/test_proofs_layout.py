"""The proofs package: a module per stage, each proof reachable as `proofs.<name>`, no tag key spelled out."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import nbformat
import pytest

from tutorial_lib import stages
from tutorial_lib.notebook import proofs

REPO = Path(__file__).resolve().parents[2]
PACKAGE = "tutorial_lib.notebook.proofs"
MODULES = sorted({stage.proofs for stage in stages.STAGES} | {"exercises"})
AIRLIFT_PREFIX = "dagster-airlift/"


def _public_functions(module_name: str) -> list[str]:
    module = importlib.import_module(f"{PACKAGE}.{module_name}")
    return [
        name
        for name, value in vars(module).items()
        if inspect.isfunction(value) and value.__module__ == module.__name__ and not name.startswith("_")
    ]


def _names_notebooks_call() -> set[str]:
    called = set()
    for notebook in sorted((REPO / "notebooks").glob("*.ipynb")):
        for cell in nbformat.read(notebook, as_version=4).cells:
            if cell.cell_type == "code":
                called.update(re.findall(r"proofs\.([A-Za-z_]+)", cell.source))
    return called


@pytest.mark.parametrize("stage", stages.STAGES, ids=lambda stage: stage.name)
def test_each_stage_has_its_proofs_module(stage: stages.Stage) -> None:
    module = importlib.import_module(f"{PACKAGE}.{stage.proofs}")
    assert _public_functions(stage.proofs), f"{module.__name__} defines no proofs"


@pytest.mark.parametrize("module_name", MODULES)
def test_every_proof_of_a_module_is_reachable_on_the_package(module_name: str) -> None:
    module = importlib.import_module(f"{PACKAGE}.{module_name}")
    for name in _public_functions(module_name):
        assert getattr(proofs, name, None) is getattr(module, name), f"proofs.{name}"
        assert name in proofs.__all__, name


def test_the_package_exports_exactly_what_it_names() -> None:
    assert len(proofs.__all__) == len(set(proofs.__all__))
    assert all(hasattr(proofs, name) for name in proofs.__all__)


def test_every_name_the_notebooks_call_exists_on_the_package() -> None:
    called = _names_notebooks_call()
    assert called, "no proofs.<name> found in the notebooks"
    assert sorted(name for name in called if not hasattr(proofs, name)) == []


def test_no_module_spells_out_an_airlift_tag_or_metadata_key() -> None:
    spelled = []
    for path in sorted((REPO / "tutorial_lib").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if node.value.startswith(AIRLIFT_PREFIX):
                    spelled.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value!r}")
    assert spelled == [], "use the constants tutorial_lib.names re-exports from dagster_airlift.constants"
