"""The dbt project in Dagster: its manifest (parsed into the workspace, offline), assets and resource."""

import fcntl
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetsDefinition, PartitionsDefinition
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from customers_pipeline import logic, paths

# Dagster's name for the @dbt_assets definition (its op), shown in the UI and in run step names.
DBT_ASSETS_NAME = "jaffle_shop_dbt_assets"

# dagster-dbt turns every dbt test into an asset check by default. The airlift sensor launches a run of
# every check of the assets it saw materialize, and that run's `dbt build` of the tests holds the DuckDB
# file while the next Airflow run needs it. The tests still run inside each `dbt build`; Dagster just does
# not model them as separate checks.
DBT_TRANSLATOR = DagsterDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=False))

# The `dbt` that Dagster's runs call. dagster-dbt runs `dbt --version` twice before every build; the real
# command imports all of dbt and asks PyPI for the latest release (8-9 s here, and a network call). This one
# answers from the installed package's metadata and hands every other command to dbt itself.
_DBT_LAUNCHER = """#!{python}
# Written by dagster_defs/dbt.py: dbt for the runs Dagster launches (see the comment there).
import sys

if sys.argv[1:] == ["--version"]:
    from importlib.metadata import version

    print("Core:\\n  - installed: " + version("dbt-core"))
    raise SystemExit(0)

from dbt.cli.main import cli

raise SystemExit(cli())
"""

# Files of the dbt project that are not inputs to parsing.
_IGNORED_PARTS = {"target", "logs", "dbt_packages", "__pycache__", ".user.yml"}


class DbtManifestError(RuntimeError):
    """dbt could not parse the project, so Dagster has no manifest to build the dbt assets from."""


def target_path() -> Path:
    """The workspace folder holding the manifest Dagster builds the dbt assets from.

    It is not the folder the Airflow task's `dbt build` writes to (`paths.dbt_target_path()`), so Dagster
    never reads a manifest that an Airflow run is rewriting at that moment.
    """
    return paths.home() / "dbt" / "dagster"


def runs_path() -> Path:
    """The workspace folder `dbt build` runs launched by Dagster write their artefacts to."""
    return paths.home() / "dbt" / "dagster_runs"


def dbt_project() -> DbtProject:
    """The committed dbt project, with its Dagster manifest in the workspace (never in the repository)."""
    return DbtProject(project_dir=paths.DBT_PROJECT_DIR, target_path=target_path())


def _newest_project_file(project_dir: Path) -> tuple[float, Path | None]:
    """The modification time and path of the newest file dbt parses in the project folder."""
    newest: tuple[float, Path | None] = (0.0, None)
    for path in project_dir.rglob("*"):
        relative = path.relative_to(project_dir)
        if path.is_file() and not _IGNORED_PARTS.intersection(relative.parts):
            newest = max(newest, (path.stat().st_mtime, path), key=lambda item: item[0])
    return newest


def manifest_is_stale(manifest: Path, project_dir: Path) -> bool:
    """Whether the manifest is missing or older than a file of the dbt project."""
    if not manifest.is_file():
        return True
    newest, _ = _newest_project_file(project_dir)
    return manifest.stat().st_mtime < newest


def ensure_manifest(project_dir: Path | None = None, target: Path | None = None) -> Path:
    """Return an up-to-date manifest.json, running `dbt parse` (offline, no `dbt deps`) only when it is stale.

    A code-location reload or a run process finds the manifest fresh and does not parse again. Processes
    that load the definitions at the same moment parse one at a time (a file lock), and only once.
    """
    project_dir = project_dir or paths.DBT_PROJECT_DIR
    target = target or target_path()
    manifest = target / "manifest.json"
    if not manifest_is_stale(manifest, project_dir):
        return manifest
    target.mkdir(parents=True, exist_ok=True)
    log_path = target / "logs"
    with (target / ".parse.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not manifest_is_stale(manifest, project_dir):
            return manifest  # another process parsed while this one waited for the lock
        try:
            # A subprocess: the code server lives long, and would keep what dbt's parser leaves in memory.
            return logic.run_dbt_parse(project_dir, target, log_path, dbt_executable=str(dbt_executable()))
        except Exception as exc:
            raise DbtManifestError(
                f"dbt could not parse the dbt project {project_dir}, so Dagster cannot build its dbt "
                f"assets.\n{exc}\nFix the file dbt names above (dbt's own log: {log_path / 'dbt.log'}), "
                "then reload the code location."
            ) from exc


def dbt_executable() -> Path:
    """The workspace's `dbt` for Dagster runs (see `_DBT_LAUNCHER`), written when missing or outdated."""
    path = paths.home() / "bin" / "dbt"
    text = _DBT_LAUNCHER.format(python=sys.executable)  # the venv's own Python, whatever PATH holds
    if not path.is_file() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".dbt.{os.getpid()}.tmp")
        partial.write_text(text)
        partial.chmod(0o755)
        os.replace(partial, path)
    return path


def dbt_resource() -> DbtCliResource:
    """The `dbt` resource that runs dbt as a subprocess (so no DuckDB connection outlives the step)."""
    return DbtCliResource(
        project_dir=dbt_project(),
        dbt_executable=str(dbt_executable()),
        global_config_flags=["--no-use-colors", "--no-send-anonymous-usage-stats", "--no-version-check"],
    )


def build_dbt_assets(partitions_def: PartitionsDefinition | None = None) -> AssetsDefinition:
    """One Dagster asset per dbt seed and model (tests run inside `dbt build`, not as checks)."""

    @dbt_assets(
        manifest=ensure_manifest(),
        project=dbt_project(),
        name=DBT_ASSETS_NAME,
        dagster_dbt_translator=DBT_TRANSLATOR,
        partitions_def=partitions_def,
    )
    def jaffle_shop_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        """Run `dbt build` of the selected seeds and models, with artefacts in the workspace."""
        if context.has_partition_key:
            context.log.info(f"Building the dbt models for partition {context.partition_key}")
        # One target folder for every Dagster-launched build (the tutorial runs them one at a time), so
        # dbt reuses its partial parse instead of parsing the whole project in each run.
        yield from dbt.cli(["build"], context=context, target_path=runs_path()).stream()

    return jaffle_shop_dbt_assets
