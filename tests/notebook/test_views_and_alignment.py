"""Pure helpers the notebooks rely on: the lineage diagram, task attribution, logical-date alignment."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tutorial_lib.clients.dagster import Materialization
from tutorial_lib.notebook import views
from tutorial_lib.notebook.workbench import MisalignedRunError, check_aligned, midnight

GRAPH = [
    views.AssetNode("airflow/dag/d", ("customers_csv",), "DAG"),
    views.AssetNode("customers", ("raw_data/raw_customers",), "build_dbt_models"),
    views.AssetNode("customers_csv", ("customers",), "export_customers"),
    views.AssetNode("raw_data/raw_customers", (), "load_raw_customers"),
]
TASKS = ["load_raw_customers", "build_dbt_models", "export_customers"]


def test_the_lineage_diagram_has_every_asset_and_edge_colored_by_task() -> None:
    source = views.mermaid(GRAPH, TASKS)
    assert source.startswith("flowchart LR")
    ids = {node.key: f"a{index}" for index, node in enumerate(GRAPH)}
    for node in GRAPH:
        assert f'{ids[node.key]}["{node.key}"]' in source
        for dep in node.deps:
            assert f"{ids[dep]} --> {ids[node.key]}" in source
    assert f"class {ids['raw_data/raw_customers']} task0" in source
    assert f"class {ids['customers']} task1" in source
    assert f"class {ids['airflow/dag/d']} dag" in source
    assert all(task in views.legend(TASKS) for task in TASKS)


def test_a_materialization_names_the_task_from_its_log_link() -> None:
    link = "[View Logs](http://127.0.0.1:1/dags/d/grid?dag_run_id=r&task_id=build_dbt_models&tab=logs)"
    mat = Materialization(("customers",), "", 10.0, None, {}, {"Task Logs": link})
    assert views.producing_task(mat) == "build_dbt_models"
    assert views.producing_task(Materialization(("x",), "", 1.0, None, {}, {})) is None


def test_materialization_rows_order_by_task_end_and_show_the_delay() -> None:
    def mat(key: str, ended: float, recorded: float) -> Materialization:
        return Materialization(
            (key,), "", recorded, "2026-03-01", {}, {"dagster-airlift/effective-timestamp": ended}
        )

    rows = views.materialization_rows(
        {"customers": mat("customers", 20, 31), "raw_data/raw_customers": mat("r", 5, 30)}, GRAPH
    )
    assert [row["asset"] for row in rows] == ["raw_data/raw_customers", "customers"]
    assert [row["delay (s)"] for row in rows] == [25.0, 11.0]
    assert rows[1]["task"] == "build_dbt_models" and rows[1]["partition"] == "2026-03-01"


def test_midnight_is_the_logical_date_of_a_day() -> None:
    assert midnight("2026-03-01") == datetime(2026, 3, 1, tzinfo=UTC)


def test_aligned_logical_dates_pass_and_misaligned_ones_are_refused_with_the_fix() -> None:
    check_aligned(midnight("2026-03-01"))
    with pytest.raises(MisalignedRunError, match="not the start of a daily partition.*2026-03-03T00:00:00"):
        check_aligned(datetime(2026, 3, 3, 6, tzinfo=UTC))
    with pytest.raises(MisalignedRunError, match="logical date at midnight UTC"):
        check_aligned(None)


def test_the_lineage_legend_names_the_dag_only_when_the_graph_has_a_dag_asset() -> None:
    from tutorial_lib.notebook import views

    assert "the DAG itself" in views.legend(["load_raw_customers"])
    assert "the DAG itself" not in views.legend(["load_raw_customers"], dag=False)
