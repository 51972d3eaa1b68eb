"""The stage registry: every stage and variant of the tutorial, and each definitions module they load.

The one module that names a stage. The command line's choices and help, the notebook runner, the Workbench's
stage start, the code location and the proofs all read it. Adding a stage is one `Stage` entry here, plus its
notebook, its `dagster_defs` module and its proofs module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from tutorial_lib.errors import LearnerError
from tutorial_lib.names import SCHEDULE_NAME

Proxying = Literal["tasks", "dag"]


@dataclass(frozen=True)
class DefinitionsModule:
    """A module of `dagster_defs` that Dagster's code location can serve, and what its definitions do."""

    name: str
    needs_airflow: bool = True  # reads Airflow's address and login (decommissioned definitions do not)
    partitioned: bool = False  # daily partitions aligned with the DAG's logical dates
    proxying: Proxying | None = (
        None  # whether Airflow can hand its tasks ("tasks") or the DAG ("dag") to these
    )
    schedules: tuple[str, ...] = ()  # schedules it defines, each stopped at a stage's start

    @property
    def module(self) -> str:
        """The importable module name."""
        return f"dagster_defs.{self.name}"


@dataclass(frozen=True)
class Picture:
    """A picture of a UI page a stage's notebook points to (`ui.pointer` with this label), embedded there."""

    label: str
    name: str  # docs/screenshots/<name>.png
    texts: tuple[str, ...]  # what the page shows once it is drawn
    caption: str


@dataclass(frozen=True)
class Stage:
    """One step of the migration: a notebook, the definitions it starts from, and its proofs."""

    name: str
    title: str
    notebook: str  # in notebooks/
    definitions: tuple[str, ...]  # the first is loaded at the stage's start; later ones by its notebook
    proofs: str  # the module of tutorial_lib.notebook.proofs with this stage's proofs
    variant: bool = False  # another way upstream documents, run after the core stages
    summary: str = ""
    pictures: tuple[Picture, ...] = ()

    @property
    def start_definitions(self) -> DefinitionsModule:
        """The definitions Dagster serves when the stage starts."""
        return definitions_module(self.definitions[0])

    @property
    def needs_airflow(self) -> bool:
        """Whether the stage's starting definitions talk to Airflow."""
        return self.start_definitions.needs_airflow

    @property
    def partitioned(self) -> bool:
        """Whether the stage's assets have daily partitions."""
        return self.start_definitions.partitioned

    @property
    def proxying(self) -> Proxying | None:
        """What the stage proxies from Airflow to Dagster: tasks, the whole DAG, or nothing."""
        return self.start_definitions.proxying


DEFINITIONS: tuple[DefinitionsModule, ...] = (
    DefinitionsModule("peer"),
    DefinitionsModule("peer_check"),
    DefinitionsModule("observe"),
    DefinitionsModule("partitions", partitioned=True),
    DefinitionsModule("migrate", partitioned=True, proxying="tasks"),
    DefinitionsModule("decommission", needs_airflow=False, partitioned=True, schedules=(SCHEDULE_NAME,)),
    DefinitionsModule("dag_level", partitioned=True, proxying="dag"),
    DefinitionsModule("component"),
)

STAGES: tuple[Stage, ...] = (
    Stage(
        "peer",
        "Peer: Dagster sees the Airflow instance",
        "01_peer.ipynb",
        ("peer", "peer_check"),
        proofs="peer",
        summary="the DAG is an asset in Dagster, materialized by each DAG run, with a check on the CSV",
        pictures=(
            Picture(
                "Dagster: asset lineage",
                "peer-asset-lineage",
                ("rebuild_customers_list",),
                "Dagster's asset lineage after peering: the DAG is one asset, not materialized yet",
            ),
            Picture(
                "Dagster: the DAG asset's checks",
                "peer-asset-check",
                ("validate_exported_csv",),
                "The DAG asset's Checks tab: validate_exported_csv ran after the Airflow run",
            ),
        ),
    ),
    Stage(
        "observe",
        "Observe: each task mapped to its assets",
        "02_observe.ipynb",
        ("observe",),
        proofs="observe",
        summary="each task's assets (DuckDB table, dbt models, CSV) materialize from the Airflow run",
        pictures=(
            Picture(
                "Dagster: asset lineage",
                "observe-asset-lineage",
                ("raw_customers", "customers_csv"),
                "After observing: each task's assets, with the DAG asset last",
            ),
        ),
    ),
    Stage(
        "partitions",
        "Partitions: daily, aligned with Airflow's logical dates",
        "03_partitions.ipynb",
        ("partitions",),
        proofs="partitions",
        summary="backfilled days become daily partitions; a misaligned run is refused",
        pictures=(
            Picture(
                "Dagster: customers_csv partitions",
                "partitions-customers-csv",
                ("Partitions", "customers_csv"),
                "customers_csv's partitions: one day materialized by an Airflow backfill",
            ),
            Picture(
                "Dagster: the airlift sensor",
                "partitions-failing-sensor-ticks",
                ("airflow__airflow_dag_status_sensor", "Failure"),
                "The airlift sensor's ticks fail while a run's logical date matches no partition",
            ),
        ),
    ),
    Stage(
        "migrate",
        "Migrate: tasks proxied to Dagster one by one",
        "04_migrate.ipynb",
        ("migrate",),
        proofs="migrate",
        summary="tasks proxied through the YAML run in Dagster, launched by Airflow",
        pictures=(
            Picture(
                "Airflow: DAGs",
                "migrate-marked-as-proxied",
                ("Marked as Proxied",),
                "Airflow's DAG list: the tag says how many tasks are proxied to Dagster",
            ),
            Picture(
                "Airflow: build_dbt_models log",
                "migrate-proxied-task-log",
                ("Launched Dagster run",),
                "The proxied task's log in Airflow: it launched a Dagster run and waited for it",
            ),
            Picture(
                "Dagster: that run",
                "migrate-dagster-run",
                ("jaffle_shop_dbt_assets",),
                "The Dagster run that the proxied build_dbt_models task launched",
            ),
        ),
    ),
    Stage(
        "decommission",
        "Decommission: Dagster alone schedules the assets",
        "05_decommission.ipynb",
        ("decommission",),
        proofs="decommission",
        summary="the DAG leaves Airflow; a Dagster schedule replaces it",
        pictures=(
            Picture(
                "Dagster: the schedule",
                "decommission-schedule",
                ("rebuild_customers_list", "0 0 * * *"),
                "The schedule that replaces Airflow's: daily at midnight UTC",
            ),
        ),
    ),
    Stage(
        "dag_level",
        "Variant: the whole DAG at once",
        "06_dag_level.ipynb",
        ("dag_level", "decommission"),
        proofs="dag_level",
        variant=True,
        summary="assets mapped to the DAG; the DAG proxied as one task",
        pictures=(
            Picture(
                "Airflow: the DAG's graph",
                "dag-level-override-task",
                ("DAGSTER_OVERRIDE_DAG_rebuild_customers_list",),
                "Proxied as a whole, the DAG is one task in Airflow",
            ),
        ),
    ),
    Stage(
        "component",
        "Variant: the Airlift component",
        "07_component.ipynb",
        ("component",),
        proofs="component",
        variant=True,
        summary="stages 1 and 2 as an AirflowInstanceComponent in YAML",
        pictures=(
            Picture(
                "Dagster: the mirrored run",
                "component-mirrored-run",
                ("rebuild_customers_list", "9 assets"),
                "The component mirrors an Airflow run as a run of the job rebuild_customers_list",
            ),
        ),
    ),
)

FIRST = STAGES[0]
# The closing notebook, after the stages and not one of them: the learner's own DAGs, through `assess`,
# `scaffold` and `peer-project` (written by tools/your_dags_notebook.py).
YOUR_DAGS_NOTEBOOK = "08_your_dags.ipynb"


class UnknownStageError(LearnerError, ValueError):
    """A stage or definitions name the registry does not know; the message lists the known ones."""


def names(*, variants: bool = True) -> list[str]:
    """Stage names in tutorial order: the core stages, then (if `variants`) the variants."""
    return [stage.name for stage in STAGES if variants or not stage.variant]


def get(name: str) -> Stage:
    """The stage called `name`."""
    for stage in STAGES:
        if stage.name == name:
            return stage
    raise UnknownStageError(f"Unknown stage {name!r}; choose one of: {', '.join(names())}.")


def definitions_module(name: str) -> DefinitionsModule:
    """The definitions module called `name`."""
    for module in DEFINITIONS:
        if module.name == name:
            return module
    known = ", ".join(module.name for module in DEFINITIONS)
    raise UnknownStageError(f"Unknown definitions {name!r}; choose one of: {known}.")


def definitions_names() -> list[str]:
    """Every definitions module's name."""
    return [module.name for module in DEFINITIONS]


def first_where(test: Callable[[Stage], bool]) -> Stage:
    """The first stage that passes `test` (e.g. the stage that proxies tasks, to name it in a message)."""
    return next(stage for stage in STAGES if test(stage))
