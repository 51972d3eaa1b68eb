"""A stuck learner asks for a stage's reference: a diff from their files to it, or the reference itself."""

from __future__ import annotations

from pathlib import Path

from tutorial_lib.notebook.workbench import Workbench
from tutorial_lib.workspace import REPO_ROOT, Workspace


def _workbench(tmp_path: Path) -> Workbench:
    ws = Workspace(tmp_path / "ws").ensure()
    ws.update_state(stage="observe")
    return Workbench(workspace=ws, airflow=None, dagster=None, show=False)  # type: ignore[arg-type]


def test_untouched_files_are_the_reference_and_using_it_changes_nothing(tmp_path: Path) -> None:
    wb = _workbench(tmp_path)
    assert "are the reference already" in repr(wb.solution())
    assert wb.use_solution() is None
    assert not wb.workspace.backups_dir.exists()


def test_the_solution_is_a_diff_from_your_file_to_the_reference(tmp_path: Path) -> None:
    wb = _workbench(tmp_path)
    mine = wb.workspace.definitions_dir / "observe.py"
    reference = (REPO_ROOT / "dagster_defs" / "observe.py").read_text()
    mine.write_text(reference.replace('"load_raw_customers": [AssetSpec(RAW_CUSTOMERS_KEY)],', ""))
    diff = repr(wb.solution("observe"))
    assert "--- project/dagster_defs/observe.py (yours)" in diff
    assert '+                "load_raw_customers": [AssetSpec(RAW_CUSTOMERS_KEY)],' in diff
    assert str(tmp_path) not in diff  # nothing machine-specific in what a notebook stores


def test_using_the_solution_backs_up_your_file_and_puts_the_reference_in_its_place(tmp_path: Path) -> None:
    wb = _workbench(tmp_path)
    mine = wb.workspace.definitions_dir / "observe.py"
    mine.write_text("# my attempt\n")
    backup = wb.use_solution("observe")
    assert backup is not None and (backup / "dagster_defs" / "observe.py").read_text() == "# my attempt\n"
    assert mine.read_text() == (REPO_ROOT / "dagster_defs" / "observe.py").read_text()
    assert (wb.workspace.definitions_dir / "peer.py").read_text() == (
        REPO_ROOT / "dagster_defs" / "peer.py"
    ).read_text()


def test_a_stage_whose_definitions_are_a_package_covers_each_of_its_files(tmp_path: Path) -> None:
    wb = _workbench(tmp_path)
    yaml_file = wb.workspace.definitions_dir / "component" / "defs" / "airflow" / "defs.yaml"
    yaml_file.write_text("broken: [\n")
    assert "component/defs/airflow/defs.yaml (yours)" in repr(wb.solution("component"))
    wb.use_solution("component")
    assert (
        yaml_file.read_text()
        == (REPO_ROOT / "dagster_defs" / "component" / "defs" / "airflow" / "defs.yaml").read_text()
    )
