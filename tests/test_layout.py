"""The package layout says where code runs: each folder says so, and imports only from rooms it may use."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tutorial_lib"
ROOMS = ("clients", "services", "notebook", "cli", "in_airflow", "in_dagster", "in_hub")
SHARED = (
    "stages",
    "names",
    "env_vars",
    "errors",
    "log_excerpts",
    "forks",
    "dbt_locks",
    "workspace",
    "tuning",
    "progress",
    "regions",
    "learner_project",
)
# room -> the rooms of tutorial_lib it must never import
FORBIDDEN = {
    "clients": ("services", "notebook", "cli", "in_airflow", "in_dagster"),
    "services": ("notebook", "cli", "in_airflow", "in_dagster"),
    "notebook": ("cli", "in_airflow", "in_dagster"),
    "cli": ("in_airflow", "in_dagster"),
    "in_airflow": ("clients", "services", "notebook", "cli", "in_dagster"),
    "in_dagster": ("clients", "notebook", "cli", "in_airflow"),
    "in_hub": ("clients", "services", "notebook", "cli", "in_airflow", "in_dagster"),
    **{module: ROOMS for module in SHARED},
}


def _room(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imported(path: Path) -> set[str]:
    """The tutorial_lib modules a file imports, as dotted names."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tutorial_lib"):
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names if alias.name.startswith("tutorial_lib")}
    return names


def test_every_folder_opens_with_what_runs_there_and_who_imports_it() -> None:
    for room in ROOMS:
        init = PACKAGE / room / "__init__.py"
        docstring = ast.get_docstring(ast.parse(init.read_text()))
        assert docstring and len(docstring.splitlines()) >= 2, f"{room}/__init__.py needs a docstring"
    for path in PACKAGE.rglob("*.py"):
        assert ast.get_docstring(ast.parse(path.read_text())), f"{path.relative_to(PACKAGE)} has no docstring"


def test_the_top_level_holds_only_shared_modules_and_the_rooms() -> None:
    entries = {p.stem for p in PACKAGE.iterdir() if p.name != "__pycache__"}
    assert entries == {"__init__", *SHARED, *ROOMS}


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_a_room_imports_nothing_from_the_rooms_it_must_not_know(room: str) -> None:
    files = [p for p in PACKAGE.rglob("*.py") if _room(p) == room]
    assert files
    bad = {
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in files
        for name in _imported(path)
        if any(f"{name}.".startswith(f"tutorial_lib.{other}.") for other in FORBIDDEN[room])
    }
    assert not bad


def _modules_after(code: str, **env: str) -> list[str]:
    listing = "sorted(m for m in sys.modules if m.startswith('tutorial_lib'))"
    probe = f"{code}\nimport json, sys\nprint(json.dumps({listing}))"
    done = subprocess.run(
        [sys.executable, "-c", probe], env={**os.environ, **env}, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_the_hooks_inside_airflow_and_dagster_load_only_what_they_need() -> None:
    hooks = "import tutorial_lib.in_dagster.gate, tutorial_lib.in_airflow.scheduler_wake, tutorial_lib.tuning"
    assert set(_modules_after(hooks)) <= {
        "tutorial_lib",
        "tutorial_lib.env_vars",
        "tutorial_lib.tuning",
        "tutorial_lib.in_dagster",
        "tutorial_lib.in_dagster.gate",
        "tutorial_lib.in_airflow",
        "tutorial_lib.in_airflow.scheduler_wake",
    }
    startup = str(PACKAGE / "in_dagster" / "startup")
    assert set(_modules_after("import sitecustomize", PYTHONPATH=startup)) <= {
        "tutorial_lib",
        "tutorial_lib.env_vars",
        "tutorial_lib.tuning",
    }


def test_importing_the_package_costs_nothing_until_a_name_is_used() -> None:
    assert _modules_after("import tutorial_lib") == ["tutorial_lib"]
    assert "tutorial_lib.notebook.workbench" in _modules_after("import tutorial_lib; tutorial_lib.up")


def test_the_tests_mirror_the_rooms() -> None:
    tests = Path(__file__).resolve().parent
    folders = {p.name for p in tests.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders and folders <= set(ROOMS)
    for folder in folders:
        assert list((tests / folder).glob("test_*.py")), folder


LOGGING_CALLS = {"debug", "info", "warning", "error", "exception", "print_exc"}


def _handles_or_logs(handler: ast.ExceptHandler) -> bool:
    """Whether a broad except re-raises, uses the error it caught, or logs it."""
    for node in ast.walk(ast.Module(body=handler.body, type_ignores=[])):
        if isinstance(node, ast.Raise):
            return True
        if isinstance(node, ast.Name) and handler.name and node.id == handler.name:
            return True
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in LOGGING_CALLS
        ):
            return True
    return False


def test_every_broad_except_handles_or_logs_what_it_caught() -> None:
    silent = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            broad = isinstance(node, ast.ExceptHandler) and (
                node.type is None
                or (isinstance(node.type, ast.Name) and node.type.id in ("Exception", "BaseException"))
            )
            if broad and not _handles_or_logs(node):
                silent.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not silent


def test_the_hub_configuration_imports_nothing_of_the_workbench_as_the_hub_runs_in_its_own_env() -> None:
    files = list((PACKAGE / "in_hub").rglob("*.py"))
    assert files
    assert {name for path in files for name in _imported(path)} == set()
    assert "import tutorial_lib" not in (PACKAGE / "in_hub" / "jupyterhub_config.py").read_text()
