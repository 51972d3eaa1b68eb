"""A learner's project starts from starters; a stuck learner asks for the reference: a diff, or the file."""

from __future__ import annotations

from pathlib import Path

from tutorial_lib import learner_project
from tutorial_lib.notebook.workbench import Workbench
from tutorial_lib.workspace import Workspace


def _workbench(tmp_path: Path, stage: str = "observe") -> Workbench:
    ws = Workspace(tmp_path / "ws").ensure()
    ws.update_state(stage=stage)
    return Workbench(workspace=ws, airflow=None, dagster=None, show=False)  # type: ignore[arg-type]


def _reference(file: str, name: str) -> str:
    return learner_project.solution_text(Path(file), name)


def test_a_new_project_holds_the_starters_with_each_exercise_marked_todo(tmp_path: Path) -> None:
    wb = _workbench(tmp_path)
    observe = (wb.workspace.definitions_dir / "observe.py").read_text()
    assert "# TODO (observe): Map each task id" in observe and "task_mappings={}," in observe
    assert "# >>>" not in observe and "# <<<" not in observe and "# --- starter" not in observe
    assert "airflow_instance = None" in (wb.workspace.definitions_dir / "airflow_instance.py").read_text()


def test_the_solution_is_a_diff_from_your_file_to_the_reference(tmp_path: Path) -> None:
    wb = _workbench(tmp_path)
    diff = repr(wb.solution("observe"))
    assert "--- project/dagster_defs/observe.py (yours)" in diff
    assert '+                "load_raw_customers": [AssetSpec(RAW_CUSTOMERS_KEY)],' in diff
    assert "-            task_mappings={}," in diff
    assert str(tmp_path) not in diff  # nothing machine-specific in what a notebook stores


def test_using_the_solution_backs_up_your_file_and_puts_the_reference_in_its_place(tmp_path: Path) -> None:
    wb = _workbench(tmp_path)
    mine = wb.workspace.definitions_dir / "observe.py"
    mine.write_text("# my attempt\n")
    backup = wb.use_solution("observe")
    assert backup is not None and (backup / "dagster_defs" / "observe.py").read_text() == "# my attempt\n"
    assert mine.read_text() == _reference("observe.py", "observe")
    assert "TODO" not in mine.read_text()
    assert "# TODO (peer)" in (wb.workspace.definitions_dir / "peer.py").read_text()  # only what was asked
    assert "are the reference already" in repr(wb.solution("observe"))
    assert wb.use_solution("observe") is None  # nothing to do: no second backup


def test_an_exercise_in_yaml_is_solved_and_diffed_like_python(tmp_path: Path) -> None:
    wb = _workbench(tmp_path, "component")
    yaml_file = wb.workspace.definitions_dir / "component" / "defs" / "airflow" / "defs.yaml"
    assert "mappings: []" in yaml_file.read_text()
    assert "component/defs/airflow/defs.yaml (yours)" in repr(wb.solution("component"))
    wb.use_solution("component")
    assert "task_id: load_raw_customers" in yaml_file.read_text()


def test_a_stage_start_fills_in_earlier_exercises_left_untouched_and_keeps_edited_ones(
    tmp_path: Path,
) -> None:
    ws = Workspace(tmp_path / "ws").ensure()
    root = ws.definitions_dir
    edited = (root / "peer_check.py").read_text() + "\n# mine\n"
    (root / "peer_check.py").write_text(edited)
    done = learner_project.catch_up(root, "partitions")
    assert Path("observe.py") in done.filled and Path("peer.py") in done.filled
    assert (root / "observe.py").read_text() == _reference("observe.py", "observe")
    assert (root / "peer_check.py").read_text() == edited  # the learner's, kept as it is
    assert done.pending == (Path("peer_check.py"),)  # and said to still hold a TODO of an earlier stage
    assert (
        "# TODO (partitions)" in (root / "partitions.py").read_text()
    )  # this stage's: the learner's to write


def test_a_stage_start_never_takes_back_a_solution_already_in_place(tmp_path: Path) -> None:
    wb = _workbench(tmp_path)
    wb.use_solution("partitions")
    solved = (wb.workspace.definitions_dir / "partitions.py").read_text()
    done = learner_project.catch_up(wb.workspace.definitions_dir, "observe")
    assert (wb.workspace.definitions_dir / "partitions.py").read_text() == solved
    assert Path("partitions.py") not in done.filled


def test_an_earlier_exercise_left_unfinished_is_named_by_its_file(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws").ensure()
    unfinished = learner_project.unfinished_before(ws.definitions_dir, "peer_check")
    assert unfinished == (
        "project/dagster_defs/airflow_instance.py (peer)",
        "project/dagster_defs/peer.py (peer)",
    )
    assert learner_project.unfinished_before(ws.definitions_dir, "peer") == ()


class _Dagster:
    """Dagster serving the learner's starter (no schedule) until `has_schedule`; its schedule left running."""

    def __init__(self) -> None:
        self.has_schedule, self.running, self.stopped = False, True, 0

    def reload_location(self, show: bool = False) -> None:
        pass

    def schedule(self, name: str) -> dict[str, str]:
        from tutorial_lib.clients.dagster import DagsterError

        if not self.has_schedule:
            raise DagsterError(f"no schedule {name}")
        return {"status": "RUNNING" if self.running else "STOPPED"}

    def set_schedule_running(self, name: str, running: bool) -> None:
        self.running, self.stopped = running, self.stopped + (not running)


def test_a_schedule_left_running_by_an_earlier_pass_is_stopped_once_the_learners_code_defines_it(
    tmp_path: Path,
) -> None:
    from tutorial_lib.notebook.workbench import SCHEDULES_TO_STOP

    wb = _workbench(tmp_path, "decommission")
    wb.dagster = dagster = _Dagster()  # type: ignore[assignment]
    wb.workspace.update_state(**{SCHEDULES_TO_STOP: ["rebuild_customers_list_daily"]})  # as start_stage does
    wb.use_definitions("decommission")  # the starter: no schedule yet, so nothing to stop
    assert (dagster.stopped, dagster.running) == (0, True)
    dagster.has_schedule = True  # the learner's code now defines it, with the status of the earlier pass
    wb.use_definitions("decommission")
    assert (dagster.stopped, dagster.running) == (1, False)
    dagster.running = True  # the exercise starts it: later loads leave it running
    wb.use_definitions("decommission")
    assert (dagster.stopped, dagster.running) == (1, True)


class _Airflow:
    """Airflow whose last parse ended just after the DAG file changed (it read the old file), and which
    records the new file's import error at the `error_after`-th look."""

    def __init__(self, parsed_at: float, error_after: int) -> None:
        self.parsed_at, self.error_after, self.looks = parsed_at, error_after, 0

    def dag_ids(self) -> list[str]:
        return ["rebuild_customers_list"]

    def last_parsed(self, dag_id: str) -> float:
        return self.parsed_at

    def request_parse(self, dag_id: str) -> None:
        self.requested = True

    def import_error(self, filename: str, *, since: float = 0.0) -> dict[str, str] | None:
        self.looks += 1
        if self.looks < self.error_after:
            return None
        return {"filename": filename, "stack_trace": "  File x\nSyntaxError: invalid syntax"}


def test_a_dag_file_broken_while_airflow_parsed_its_old_version_is_reported_broken(tmp_path: Path) -> None:
    wb = _workbench(tmp_path, "migrate")
    dag_file = wb.workspace.dags_dir / "rebuild_customers_list.py"
    changed = dag_file.stat().st_mtime
    wb.airflow = airflow = _Airflow(parsed_at=changed + 0.5, error_after=3)  # type: ignore[assignment]
    assert wb._dag_file_error() == "SyntaxError: invalid syntax"
    assert airflow.looks >= 3 and airflow.requested  # it asked for the new file's parse and waited for it
    wb.airflow = _Airflow(parsed_at=changed + 30, error_after=1)  # type: ignore[assignment]
    assert wb._dag_file_error() is None  # parsed long after the change: the file as it is now
