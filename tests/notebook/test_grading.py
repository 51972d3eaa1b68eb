"""Check your work: the rules that compare what Dagster loaded with what each exercise asks for."""

from __future__ import annotations

from datetime import date

import pytest

from tutorial_lib import stages
from tutorial_lib.names import CHECK_NAME, CSV_ASSET, DAG_ASSET, DAG_ID, DBT_ASSETS, RAW_TABLE, SCHEDULE_NAME
from tutorial_lib.notebook import grading
from tutorial_lib.notebook.grading import Asset, Loaded

DAILY = "Daily, starting 2026-01-01 UTC."


def _observed(*, partitions: str | None = None, executable: bool = False, owner: str | None = None) -> Loaded:
    """Stage 2's definitions as Dagster describes them (partitioned or executable as asked)."""
    assets = {DAG_ASSET: Asset(DAG_ASSET, "DAG")}
    for key, task in grading.OWNERS.items():
        deps = ("customers",) if key == CSV_ASSET else ()
        runs = executable and key in (RAW_TABLE, CSV_ASSET) or key in DBT_ASSETS and executable
        checks = (CHECK_NAME,) if key == CSV_ASSET else ()
        assets[key] = Asset(key, owner or task, deps, runs, partitions, checks)
    return Loaded(assets, dag_start=date(2026, 1, 1))


def _messages(name: str, loaded: Loaded) -> list[str]:
    return [f.what for f in grading.grade(name, loaded).findings if not f.ok]


def test_every_definitions_module_of_the_registry_has_its_rule() -> None:
    assert set(grading.RULES) == set(stages.definitions_names())


def test_the_reference_of_each_stage_passes_its_rule() -> None:
    assert grading.grade("observe", _observed()).done
    assert grading.grade("partitions", _observed(partitions=DAILY)).done
    assert grading.grade("migrate", _observed(partitions=DAILY, executable=True)).done
    assert grading.grade("dag_level", _observed(partitions=DAILY, executable=True, owner="DAG")).done


def test_an_unmapped_asset_is_named_with_the_task_that_writes_it() -> None:
    loaded = _observed()
    loaded.assets[RAW_TABLE] = Asset(RAW_TABLE, None)
    feedback = grading.grade("observe", loaded)
    assert not feedback.done
    assert "raw_data/raw_customers is not mapped to any task: map load_raw_customers to it" in repr(feedback)


def test_the_dbt_assets_are_named_as_one_group_and_a_wrong_task_is_named() -> None:
    loaded = _observed()
    for key in DBT_ASSETS:
        loaded.assets[key] = Asset(key, "export_customers")
    assert _messages("observe", loaded) == ["the 7 dbt assets are mapped to export_customers"]


def test_an_asset_no_task_writes_is_refused() -> None:
    loaded = _observed()
    loaded.assets["oops"] = Asset("oops", "export_customers")
    assert _messages("observe", loaded) == ["oops is mapped, but no task writes it"]


def test_the_check_left_on_the_dag_is_named() -> None:
    loaded = _observed()
    loaded.assets[CSV_ASSET] = Asset(CSV_ASSET, "export_customers", ("customers",))
    loaded.assets[DAG_ASSET] = Asset(DAG_ASSET, "DAG", checks=(CHECK_NAME,))
    assert _messages("observe", loaded) == [f"the check {CHECK_NAME} is on {DAG_ASSET}"]


def test_missing_or_misaligned_partitions_are_named_in_the_learners_terms() -> None:
    assert _messages("partitions", _observed()) == [
        "raw_data/raw_customers, customers_csv and the 7 dbt assets have no partitions_def"
    ]
    late = _observed(partitions="Daily, starting 2026-01-02 UTC.")
    assert _messages("partitions", late) == [
        "the partitions of raw_data/raw_customers, customers_csv and the 7 dbt assets start 2026-01-02 "
        "but the DAG starts 2026-01-01"
    ]
    hourly = _observed(partitions="Hourly, starting 2026-01-01-00:00 UTC.")
    assert "make them daily" in repr(grading.grade("partitions", hourly))


def test_a_spec_that_dagster_cannot_run_is_named_in_migrate() -> None:
    loaded = _observed(partitions=DAILY, executable=True)
    loaded.assets[RAW_TABLE] = Asset(RAW_TABLE, "load_raw_customers", partitions=DAILY)
    assert _messages("migrate", loaded) == ["raw_data/raw_customers is a spec Dagster cannot run"]


@pytest.mark.parametrize(
    ("schedules", "message"),
    [
        ({}, f"no schedule runs {DAG_ID}"),
        ({SCHEDULE_NAME: {"cron": "0 1 * * *", "timezone": "UTC", "job": DAG_ID}}, "runs at 0 1 * * * UTC"),
        ({"daily": {"cron": "0 0 * * *", "timezone": "UTC", "job": DAG_ID}}, "the schedule is named daily"),
    ],
)
def test_a_missing_or_wrong_schedule_is_named(schedules: dict, message: str) -> None:
    assets = {CSV_ASSET: Asset(CSV_ASSET, None, checks=(CHECK_NAME,))}
    feedback = grading.grade("decommission", Loaded(assets, jobs=(DAG_ID,), schedules=schedules))
    assert not feedback.done and message in repr(feedback)


def test_the_decommissioned_reference_passes_and_airlift_left_in_does_not() -> None:
    schedules = {SCHEDULE_NAME: {"cron": "0 0 * * *", "timezone": "UTC", "job": DAG_ID}}
    assets = {CSV_ASSET: Asset(CSV_ASSET, None, checks=(CHECK_NAME,))}
    assert grading.grade("decommission", Loaded(assets, jobs=(DAG_ID,), schedules=schedules)).done
    assets[DAG_ASSET] = Asset(DAG_ASSET, "DAG")
    feedback = grading.grade("decommission", Loaded(assets, jobs=(DAG_ID,), schedules=schedules))
    assert "the definitions still peer into Airflow" in repr(feedback)


def test_the_dag_asset_under_another_instance_name_says_which_name() -> None:
    loaded = Loaded({f"other/dag/{DAG_ID}": Asset(f"other/dag/{DAG_ID}", "DAG")})
    assert 'name the AirflowInstance "airflow"' in repr(grading.grade("peer", loaded))
    assert grading.grade("peer", Loaded({DAG_ASSET: Asset(DAG_ASSET, "DAG")})).done


def test_a_load_error_is_two_short_lines_with_the_file_and_no_library_path() -> None:
    message = (
        "The Dagster code location 'airlift_tutorial' failed to load:\n"
        "dagster._core.errors.DagsterUserCodeLoadError: Error occurred during the loading\n"
        "Caused by: ImportError: cannot import name 'x' from 'dagster_dbt' (/venv/lib/dagster_dbt/init.py)\n"
        "Where: project/dagster_defs/observe.py, line 5: from dagster_dbt import x"
    )
    short = grading.short_load_error(message)
    assert short == (
        "ImportError: cannot import name 'x' from 'dagster_dbt' "
        "(at project/dagster_defs/observe.py, line 5: from dagster_dbt import x)"
    )
    feedback = grading.Feedback(
        "observe", (), load_error=short, unfinished=("project/dagster_defs/peer.py (peer)",)
    )
    text = repr(feedback)
    assert "not done yet" in text and "Dagster could not load it: ImportError" in text
    assert "peer.py (peer) still has its TODO" in text and not feedback.done


@pytest.mark.parametrize("shown", ["/tmp/ws/project", ".workbench/project", "project"])
def test_a_load_error_names_the_learners_file_the_same_wherever_the_workspace_is(shown: str) -> None:
    message = (
        "Caused by: AttributeError: 'NoneType' object has no attribute 'list_dags'\n"
        f"Where: {shown}/dagster_defs/peer_check.py, line 15: defs = build_defs_from_airflow_instance("
    )
    assert grading.short_load_error(message) == (
        "AttributeError: 'NoneType' object has no attribute 'list_dags' "
        "(at project/dagster_defs/peer_check.py, line 15: defs = build_defs_from_airflow_instance()"
    )


def test_a_syntax_error_is_placed_in_the_broken_file_not_in_the_line_that_imports_it() -> None:
    message = (
        "The Dagster code location 'airlift_tutorial' failed to load:\n"
        'Caused by: File "/tmp/ws/project/dagster_defs/assets.py", line 51\n'
        "    return _load(\n"
        "                ^\n"
        "SyntaxError: '(' was never closed\n"
        "Where: project/dagster_defs/migrate.py, line 9: from dagster_defs.assets import load_csv_asset"
    )
    assert grading.short_load_error(message) == (
        "SyntaxError: '(' was never closed (at project/dagster_defs/assets.py, line 51)"
    )
