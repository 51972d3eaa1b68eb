"""Check your work on live services: each exercise's starter, a wrong answer and the reference, as a learner
would type them into their project, each graded by what Dagster loads."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import tutorial_lib
from tutorial_lib import learner_project, services, stages

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


def test_every_exercise_has_a_wrong_answer_here() -> None:
    assert set(WRONG) == set(stages.definitions_names())


@pytest.mark.stage
def test_each_exercise_starter_wrong_answer_and_reference_are_graded_in_the_learners_terms(
    running: services.Services,
) -> None:
    wb = tutorial_lib.up(running.workspace.home, show=False)
    wb.restore_dags()
    services.wait_for_dag_files(wb.workspace, wb.airflow, show=False)
    root = wb.workspace.definitions_dir
    timings = []
    try:
        for name, (file, right, wrong, said) in WRONG.items():
            learner_project.install(root, solved=lambda region, name=name: _before(region, name))
            starter = wb.check(name)
            assert not starter.done and "not done yet" in repr(starter), (name, repr(starter))
            path = root / file
            learner_project.install(root, solved=lambda region, name=name: _before(region, name, True))
            reference = path.read_text()
            assert right in reference, (name, right)
            path.write_text(reference.replace(right, wrong, 1))
            started = time.monotonic()
            mistake = wb.check(name)
            timings.append(time.monotonic() - started)
            assert not mistake.done and said in repr(mistake), (name, repr(mistake))
            assert "Traceback" not in repr(mistake) and str(root) not in repr(mistake)
            assert path.read_text() == reference.replace(right, wrong, 1)  # nothing the learner typed is lost
            path.write_text(reference)
            assert wb.check(name).done, (name, repr(wb.check(name)))
    finally:
        learner_project.install(root, solved=lambda region: True)
        wb.use_definitions("peer", show=False)
    median = sorted(timings)[len(timings) // 2]
    print(f"check after a change: median {median:.1f} s, max {max(timings):.1f} s")


def _before(region: str, name: str, including: bool = False) -> bool:
    order = stages.definitions_names()
    return order.index(region) < order.index(name) + (1 if including else 0)


def test_the_wrong_answers_are_written_against_the_reference_text() -> None:
    for name, (file, right, _wrong, _said) in WRONG.items():
        assert right in learner_project.solution_text(Path(file), name), name
