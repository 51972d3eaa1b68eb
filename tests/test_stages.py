"""The stage registry (tutorial_lib/stages.py): the one module that knows the stages, read by the rest."""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
from pathlib import Path

import pytest

from tutorial_lib import cli, stages
from tutorial_lib.cli import runner
from tutorial_lib.in_dagster import loader as code_location
from tutorial_lib.notebook.workbench import Workbench
from tutorial_lib.workspace import Workspace, WorkspaceError

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "tutorial_lib"
# String constants outside the registry that equal a stage's name but mean something else.
NOT_STAGES = {
    ("notebook/ui.py", "partitions"): "the Dagster UI's partitions view of an asset",
    ("services/lifecycle.py", "migrate"): "`airflow db migrate` and `dagster instance migrate`",
    ("services/command_lines.py", "migrate"): "`airflow db migrate` and `dagster instance migrate`",
}


def _stage_literals() -> dict[str, list[str]]:
    """Module path -> the string constants in it that equal a stage's or definitions module's name."""
    words = set(stages.names()) | set(stages.definitions_names())
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = str(path.relative_to(PACKAGE))
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Constant)
                and node.value in words
                and (relative, node.value) not in NOT_STAGES
            ):
                found.setdefault(relative, []).append(node.value)
    return found


def test_only_the_registry_names_a_stage() -> None:
    assert list(_stage_literals()) == ["stages.py"]


def test_every_stage_has_its_notebook_in_order_and_known_definitions() -> None:
    for number, stage in enumerate(stages.STAGES, 1):
        assert (REPO / "notebooks" / stage.notebook).is_file(), stage.notebook
        assert stage.notebook.startswith(f"{number:02d}_{stage.name}"), stage.notebook
        for name in stage.definitions:
            assert stages.definitions_module(name).name == name
    assert len({stage.name for stage in stages.STAGES}) == len(stages.STAGES)
    assert [stage.variant for stage in stages.STAGES] == sorted(stage.variant for stage in stages.STAGES)


def test_every_definitions_module_is_a_dagster_defs_module_and_every_one_is_registered() -> None:
    for module in stages.DEFINITIONS:
        assert importlib.util.find_spec(module.module) is not None, module.module
    on_disk = {p.stem for p in (REPO / "dagster_defs").glob("*.py")} | {
        p.name for p in (REPO / "dagster_defs").iterdir() if (p / "__init__.py").is_file()
    }
    shared = {"__init__", "airflow_instance", "shared", "dbt", "assets"}
    assert on_disk - shared == set(stages.definitions_names())


def test_the_registry_says_which_definitions_are_partitioned_proxied_or_without_airflow() -> None:
    assert [m.name for m in stages.DEFINITIONS if not m.needs_airflow] == ["decommission"]
    assert stages.first_where(lambda stage: stage.proxying == "tasks").name == "migrate"
    assert stages.first_where(lambda stage: stage.proxying == "dag").name == "dag_level"
    assert [s.name for s in stages.STAGES if s.partitioned] == [
        "partitions",
        "migrate",
        "decommission",
        "dag_level",
    ]


def test_an_unknown_stage_or_definitions_name_lists_the_known_ones() -> None:
    with pytest.raises(stages.UnknownStageError, match="choose one of: peer, observe"):
        stages.get("nope")
    with pytest.raises(stages.UnknownStageError, match="peer_check"):
        stages.definitions_module("nope")


def test_the_command_line_offers_exactly_the_registered_stages() -> None:
    parser = cli.build_parser()
    reset = next(
        a for a in parser._subparsers._group_actions[0].choices["reset"]._actions if a.dest == "stage"
    )
    assert list(reset.choices) == stages.names()
    assert list(runner.stage_notebooks()) == stages.names()
    assert runner.select_stages(None) == stages.names(variants=False)
    assert runner.select_stages(None, variants=True) == stages.names()


def test_adding_a_stage_is_one_registry_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = dataclasses.replace(stages.get("observe"), name="extra", notebook="99_extra.ipynb", variant=True)
    monkeypatch.setattr(stages, "STAGES", (*stages.STAGES, extra))
    parser = cli.build_parser()
    assert parser.parse_args(["reset", "--stage", "extra"]).stage == "extra"
    assert runner.stage_notebooks()["extra"].name == "99_extra.ipynb"
    assert runner.select_stages(["extra", "peer"]) == ["peer", "extra"]
    assert "extra" in parser.format_help() or "extra" in _run_help(parser)


def _run_help(parser) -> str:
    return parser._subparsers._group_actions[0].choices["run"].format_help()


def test_a_workbench_reads_partitions_and_proxying_from_the_registry(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws").ensure()
    wb = Workbench(workspace=ws, airflow=None, dagster=None, show=False)  # type: ignore[arg-type]
    for module in stages.DEFINITIONS:
        ws.update_state(definitions=module.name)
        assert wb.partitioned == module.partitioned, module.name
    ws.update_state(definitions="observe", stage="observe")
    with pytest.raises(WorkspaceError, match=r"needs the migrate stage's definitions.*reset --stage migrate"):
        wb.set_proxied({"build_dbt_models": True})
    with pytest.raises(WorkspaceError, match=r"needs the dag_level stage's definitions"):
        wb.set_dag_proxied(True)


def test_the_code_location_serves_the_first_stage_until_the_workspace_selects_another(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws").ensure()
    assert code_location.selected_definitions(ws).name == stages.FIRST.definitions[0]
    ws.update_state(definitions="decommission")
    assert not code_location.selected_definitions(ws).needs_airflow


def test_every_error_a_learner_can_fix_shares_one_base_and_the_command_prints_it_as_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tutorial_lib.errors import LearnerError
    from tutorial_lib.notebook.proxied_state import ProxiedStateError
    from tutorial_lib.notebook.workbench import MisalignedRunError
    from tutorial_lib.services import ServiceError
    from tutorial_lib.services.processes import PortInUseError

    for error in (WorkspaceError, ServiceError, PortInUseError, ProxiedStateError, MisalignedRunError):
        assert issubclass(error, LearnerError), error
    assert issubclass(stages.UnknownStageError, LearnerError)
    (tmp_path / "mine.txt").write_text("not the workbench's")
    assert cli.main(["--home", str(tmp_path), "reset"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("airlift-tutorial reset: ") and "Traceback" not in err and "--home" in err
