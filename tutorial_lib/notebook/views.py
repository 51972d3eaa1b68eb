"""What the notebooks show: the asset lineage as a mermaid diagram, tables of runs and materializations."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from tutorial_lib.clients.dagster import DagsterClient, Materialization, key_string
from tutorial_lib.names import (
    DAG_MAPPING_METADATA_KEY,
    EFFECTIVE_TIMESTAMP_METADATA_KEY,
    PEERED_DAG_MAPPING_METADATA_KEY,
    TASK_MAPPING_METADATA_KEY,
)
from tutorial_lib.notebook.tables import Table

TASK_COLORS = ("#fde68a", "#fbcfe8", "#bfdbfe", "#bbf7d0", "#ddd6fe")
DAG_COLOR = "#e5e7eb"

ASSET_GRAPH_QUERY = """
query {
  assetNodes {
    assetKey { path }
    dependencyKeys { path }
    metadataEntries { label ... on JsonMetadataEntry { jsonString } }
  }
}
"""


@dataclass(frozen=True)
class AssetNode:
    """An asset of the loaded definitions, its upstream assets, and the Airflow task (or DAG) that owns it."""

    key: str
    deps: tuple[str, ...]
    owner: str | None


def _owner(entries: list[dict[str, Any]]) -> str | None:
    by_label = {entry["label"]: entry.get("jsonString") for entry in entries}
    if by_label.get(TASK_MAPPING_METADATA_KEY):
        return json.loads(by_label[TASK_MAPPING_METADATA_KEY])[0]["task_id"]
    if by_label.get(PEERED_DAG_MAPPING_METADATA_KEY) or by_label.get(DAG_MAPPING_METADATA_KEY):
        return "DAG"
    return None


def asset_graph(dagster: DagsterClient) -> list[AssetNode]:
    """The loaded definitions' asset graph, as Dagster's GraphQL API reports it."""
    nodes = []
    for node in dagster.query(ASSET_GRAPH_QUERY)["assetNodes"]:
        deps = tuple(sorted(key_string(dep["path"]) for dep in node["dependencyKeys"]))
        nodes.append(AssetNode(key_string(node["assetKey"]["path"]), deps, _owner(node["metadataEntries"])))
    return sorted(nodes, key=lambda node: node.key)


def mermaid(nodes: Iterable[AssetNode], task_order: Iterable[str] = ()) -> str:
    """A mermaid flowchart of the asset graph, each asset colored by the task that owns it."""
    nodes = list(nodes)
    owners = list(dict.fromkeys([*task_order, *(n.owner for n in nodes if n.owner and n.owner != "DAG")]))
    ids = {node.key: f"a{index}" for index, node in enumerate(nodes)}
    lines = ["flowchart LR"]
    for node in nodes:
        lines.append(f'    {ids[node.key]}["{node.key}"]')
    for node in nodes:
        for dep in node.deps:
            if dep in ids:
                lines.append(f"    {ids[dep]} --> {ids[node.key]}")
    for index, owner in enumerate(owners):
        members = [ids[n.key] for n in nodes if n.owner == owner]
        lines.append(f"    classDef task{index} fill:{TASK_COLORS[index % len(TASK_COLORS)]},stroke:#555")
        lines.append(f"    class {','.join(members)} task{index}")
    dag_members = [ids[n.key] for n in nodes if n.owner == "DAG"]
    if dag_members:
        lines.append(f"    classDef dag fill:{DAG_COLOR},stroke:#555,stroke-dasharray: 4 2")
        lines.append(f"    class {','.join(dag_members)} dag")
    return "\n".join(lines)


def legend(task_order: Iterable[str], *, dag: bool = True) -> str:
    """A Markdown legend for the task colors of `mermaid` (and the DAG's, if the graph has a DAG asset)."""
    items = [
        f'<span style="background:{TASK_COLORS[i % len(TASK_COLORS)]};padding:0 6px">{task}</span>'
        for i, task in enumerate(task_order)
    ]
    if dag:
        items.append(f'<span style="background:{DAG_COLOR};padding:0 6px">the DAG itself</span>')
    return "Owned by: " + " ".join(items)


def show_lineage(dagster: DagsterClient, task_order: Iterable[str] = ()) -> None:
    """Display the lineage diagram (JupyterLab renders mermaid natively) and its color legend."""
    from IPython.display import Markdown, display

    order = list(task_order)
    nodes = asset_graph(dagster)
    source = mermaid(nodes, order)
    display(
        {"text/vnd.mermaid": source, "text/markdown": f"```mermaid\n{source}\n```", "text/plain": source},
        raw=True,
    )
    display(Markdown(legend(order, dag=any(node.owner == "DAG" for node in nodes))))


def materialization_rows(
    mats: dict[str, Materialization], graph: Iterable[AssetNode]
) -> list[dict[str, Any]]:
    """One row per asset: owning task, when the task ended (Airflow), when Dagster recorded it, the gap."""
    owners = {node.key: node.owner for node in graph}
    rows = []
    for key, mat in sorted(
        mats.items(), key=lambda item: item[1].metadata.get(EFFECTIVE_TIMESTAMP_METADATA_KEY, 0)
    ):
        ended = mat.metadata.get(EFFECTIVE_TIMESTAMP_METADATA_KEY)
        rows.append(
            {
                "asset": key,
                "task": owners.get(key.split("@")[0]),
                "partition": mat.partition,
                "task ended": _clock(ended),
                "recorded in Dagster": _clock(mat.timestamp),
                "delay (s)": round(mat.timestamp - ended, 1) if ended else None,
            }
        )
    return rows


def materializations_table(dagster: DagsterClient, mats: dict[str, Materialization]) -> Table:
    """`materialization_rows` as a table, in the order the tasks ended."""
    return Table(materialization_rows(mats, asset_graph(dagster)))


def producing_task(mat: Materialization) -> str | None:
    """The Airflow task a materialization came from, read from its task-log link."""
    match = re.search(r"[?&]task_id=([^&)]+)", str(mat.metadata.get("Task Logs", "")))
    return match.group(1) if match else None


def _clock(timestamp: float | None) -> str | None:
    from datetime import datetime

    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%H:%M:%S.%f")[:-4]
