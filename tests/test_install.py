"""What `make install` leaves behind that every process's start-up time depends on."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("module", ["dagster", "dagster_webserver", "airflow", "dbt.cli.main", "duckdb"])
def test_the_installed_packages_are_compiled_to_bytecode(module: str) -> None:
    # Without the compiled files every interpreter compiles its imports again (PYTHONDONTWRITEBYTECODE is
    # common on CI and shared hosts): importing dbt took 3.8 s instead of 2.0 s here.
    source = importlib.util.find_spec(module).origin
    assert source is not None and source.endswith(".py")
    cached = Path(importlib.util.cache_from_source(source))
    assert cached.is_file(), f"{cached} is missing: install with `make install` (uv sync --compile-bytecode)"


def test_jsonschema_does_not_build_the_rfc3987_parser_at_import() -> None:
    # The override in pyproject.toml keeps rfc3987-syntax out: its import builds a parser (1.0-1.4 s of CPU)
    # in every process that imports jsonschema, dbt among them.
    probe = (
        "import sys, jsonschema; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rfc3987_syntax', 'lark')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
