"""Check your work on live services: each exercise's starter, a wrong answer and the reference, as a learner
would type them into their project, each graded by what Dagster loads."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import tutorial_lib
from tutorial_lib import learner_project, services, stages

REPO = Path(__file__).resolve().parents[2]

# definitions module -> (file, the reference's text, a wrong answer in its place, what the check must say)
WRONG = {
    "peer": ("airflow_instance.py", 'name="airflow",', 'name="old",', 'name the AirflowInstance "airflow"'),
    "peer_check": (
        "peer_check.py",
        'name="validate_exported_csv"',
        'name="validate_csv"',
        "no check named validate_exported_csv",
    ),
    "observe": (
        "observe.py",
        '"load_raw_customers": [AssetSpec(RAW_CUSTOMERS_KEY)],',
        "",
        "raw_data/raw_customers is not mapped to any task: map load_raw_customers to it",
    ),
    "partitions": (
        "partitions.py",
        'start_date="2026-01-01"',
        'start_date="2026-01-02"',
        "start 2026-01-02 but the DAG starts 2026-01-01",
    ),
    "migrate": (
        "assets.py",
        "    return _load\n",
        "    return _load(\n",
        "Dagster could not load it: SyntaxError",
    ),
    "decommission": (
        "decommission.py",
        "hour_of_day=0,",
        "hour_of_day=1,",
        "runs at 0 1 * * * UTC: run it at 0 0 * * * UTC",
    ),
    "dag_level": (
        "dag_level.py",
        "                    dbt_models,\n",
        "",
        "the 7 dbt assets are not mapped to the DAG",
    ),
    "component": (
        "component/defs/airflow/defs.yaml",
        "            - spec: {key: customers_csv, deps: [customers]}",
        "            - spec: {key: customers_csv}",
        "customers_csv does not depend on customers",
    ),
}


# More wrong answers, in the DAG file: (definitions module, its text, a wrong one, what the check must say)
DAG_WRONG = [
    (
        "migrate",
        "    build_from_task_fn=PatientProxyToDagsterOperator.build_from_task,\n",
        "    build_from_task_fn=PatientProxyToDagsterOperator.build_from_task\n",
        "Airflow could not import it: SyntaxError",
    ),
    (
        "migrate",
        "proxying_to_dagster(\n    global_vars=globals(),",
        "dict(\n    global_vars=globals(),",
        "the DAG does not hand tasks to Dagster: end its file with proxying_to_dagster(...)",
    ),
]
DAG_FILE = Path("rebuild_customers_list.py")


def test_every_exercise_has_a_wrong_answer_here() -> None:
    assert set(WRONG) == set(stages.definitions_names())


def _solved(name: str, including: bool) -> Callable[[str], bool]:
    order = stages.definitions_names()
    return lambda region: order.index(region) < order.index(name) + (1 if including else 0)


def _install(wb: tutorial_lib.Workbench, name: str, *, including: bool) -> None:
    """The learner's files with the exercises before `name` solved (and `name` too, if `including`)."""
    learner_project.install(wb.workspace.definitions_dir, solved=_solved(name, including))
    learner_project.DAGS.install(wb.workspace.dags_dir, solved=_solved(name, including))
    state = wb.proxied_state_file
    scaffolded = including or _solved(name, False)("migrate")
    if scaffolded and not state.exists():
        state.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "airflow_dags" / "proxied_state" / state.name, state)
    elif not scaffolded:
        state.unlink(missing_ok=True)


@pytest.mark.stage
def test_each_exercise_starter_wrong_answer_and_reference_are_graded_in_the_learners_terms(
    running: services.Services,
) -> None:
    wb = tutorial_lib.up(running.workspace.home, show=False)
    wb.restore_dags()
    services.wait_for_dag_files(wb.workspace, wb.airflow, show=False)
    cases = [(name, wb.workspace.definitions_dir / file, *rest) for name, (file, *rest) in WRONG.items()]
    cases += [(name, wb.workspace.dags_dir / DAG_FILE, *rest) for name, *rest in DAG_WRONG]
    timings = []
    try:
        for name, path, right, wrong, said in cases:
            _install(wb, name, including=False)
            starter = wb.check(name)
            assert not starter.done and "not done yet" in repr(starter), (name, repr(starter))
            _install(wb, name, including=True)
            reference = path.read_text()
            assert right in reference, (name, right)
            path.write_text(reference.replace(right, wrong, 1))
            started = time.monotonic()
            mistake = wb.check(name)
            timings.append(time.monotonic() - started)
            assert not mistake.done and said in repr(mistake), (name, repr(mistake))
            assert "Traceback" not in repr(mistake) and str(wb.workspace.home) not in repr(mistake)
            assert path.read_text() == reference.replace(right, wrong, 1)  # nothing the learner typed is lost
            path.write_text(reference)
            assert wb.check(name).done, (name, repr(wb.check(name)))
    finally:
        _install(wb, "component", including=True)
        wb.use_definitions("peer", show=False)
    median = sorted(timings)[len(timings) // 2]
    print(f"check after a change: median {median:.1f} s, max {max(timings):.1f} s, over {len(timings)}")


def test_the_wrong_answers_are_written_against_the_reference_text() -> None:
    for name, (file, right, _wrong, _said) in WRONG.items():
        assert right in learner_project.solution_text(Path(file), name), name
    for name, right, _wrong, _said in DAG_WRONG:
        assert right in learner_project.DAGS.solution_text(DAG_FILE, name), name
