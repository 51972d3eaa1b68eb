"""What each Airflow operator becomes in Dagster, and whether its task can be proxied alone: `assess`'s rules.

A rule looks at a task's operator classes (most derived first, as Airflow's DagBag or REST API names them), so
a subclass of a known operator gets its parent's recipe. A task no rule knows is still classified: an operator
defined with the DAGs is a custom operator (upstream's advice: a factory over the same code); any other gets
"no recipe" with the reason. Pure functions over `dagbag_report`'s JSON, so they can be tested without
Airflow.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

YES, NO, NOTHING = "yes", "no", "n/a"


@dataclass(frozen=True)
class Recipe:
    """A migration recipe: its short name, what to write in Dagster, and whether the task is proxied alone."""

    key: str
    dagster: str
    alone: str  # YES, NO or NOTHING (no work to proxy)
    reason: str = ""
    whole_dag: bool = False  # the task cannot stay behind in Airflow either: the DAG moves as a whole

    def as_dict(self) -> dict[str, str]:
        """For JSON."""
        return asdict(self)


FACTORY = Recipe(
    "python-factory",
    "an asset factory that calls the same Python callable (@multi_asset over the function)",
    YES,
)
VIRTUALENV = Recipe(
    "pipes-subprocess-python",
    "PipesSubprocessClient running the same function as a script in its own environment",
    YES,
)
BASH = Recipe("pipes-subprocess", "PipesSubprocessClient running the same command", YES)
DBT = Recipe("dbt-assets", "@dbt_assets over the dbt project (one asset per model)", YES)
K8S = Recipe("pipes-k8s", "PipesK8sClient running the same image and command", YES)
SQL = Recipe("sql-factory", "an asset factory that runs the same SQL through a Dagster resource", YES)
EMAIL = Recipe("python-factory", "an asset or op that sends the same mail (a factory over the call)", YES)
EMPTY = Recipe("nothing", "nothing: the task does no work (it only shapes the graph)", NOTHING)
CUSTOM = Recipe(
    "custom-factory",
    "a factory whose arguments match the operator's, calling the same code (upstream's advice for custom "
    "operators)",
    YES,
    "a custom operator, defined with the DAGs",
)
CONTROL_FLOW = Recipe(
    "control-flow",
    "migrate the whole DAG: branches and skips become Dagster conditions (e.g. asset checks, "
    "`AutomationCondition`s or an op graph with optional outputs)",
    NO,
    "it decides which downstream tasks run; a proxied task cannot skip Airflow tasks",
)
MAPPED = Recipe(
    "dag-level",
    "migrate the whole DAG: a mapped task becomes a dynamic op graph or a partitioned asset",
    NO,
    "a mapped task (.expand()) has one Airflow task per item at run time, which dagster-airlift does not "
    "proxy",
    whole_dag=True,
)
SUBDAG = Recipe(
    "dag-level", "migrate the sub-DAG as its own DAG, then as a whole", NO, "a sub-DAG", whole_dag=True
)
TRIGGER = Recipe(
    "asset-dependency",
    "a dependency between the two DAGs' assets (the downstream assets depend on this DAG's)",
    NO,
    "it starts a run of another Airflow DAG; move it when both DAGs are in Dagster",
)
EXTERNAL = Recipe(
    "asset-dependency",
    "a dependency on the other DAG's assets, which Dagster sees once that DAG is peered",
    NO,
    "it waits on a task of another Airflow DAG",
)
SENSOR = Recipe(
    "dagster-sensor",
    "a Dagster @sensor that requests the run when the condition holds (or drop it, when it only waits)",
    NO,
    "a sensor waits on a condition; proxied, it would hold a Dagster run open",
)

# (class name as it appears in an operator's class chain, recipe); the first match in the chain wins.
BY_CLASS: dict[str, Recipe] = {
    "airflow.operators.empty.EmptyOperator": EMPTY,
    "airflow.operators.dummy.DummyOperator": EMPTY,
    "airflow.operators.branch.BaseBranchOperator": CONTROL_FLOW,
    "airflow.operators.python.BranchPythonOperator": CONTROL_FLOW,
    "airflow.operators.python.ShortCircuitOperator": CONTROL_FLOW,
    "airflow.operators.latest_only.LatestOnlyOperator": CONTROL_FLOW,
    "airflow.operators.subdag.SubDagOperator": SUBDAG,
    "airflow.operators.trigger_dagrun.TriggerDagRunOperator": TRIGGER,
    "airflow.sensors.external_task.ExternalTaskSensor": EXTERNAL,
    "airflow.sensors.external_task.ExternalTaskMarker": EXTERNAL,
    "airflow.sensors.base.BaseSensorOperator": SENSOR,
    "airflow.operators.python.PythonVirtualenvOperator": VIRTUALENV,
    "airflow.operators.python.ExternalPythonOperator": VIRTUALENV,
    "airflow.operators.python.PythonOperator": FACTORY,
    "airflow.operators.bash.BashOperator": BASH,
    "airflow.operators.email.EmailOperator": EMAIL,
    "airflow.providers.cncf.kubernetes.operators.pod.KubernetesPodOperator": K8S,
    "airflow.providers.common.sql.operators.sql.BaseSQLOperator": SQL,
}
# Class names seen only through Airflow's REST API (no class chain there): the operator's own name.
BY_NAME: dict[str, Recipe] = {name.rsplit(".", 1)[1]: recipe for name, recipe in BY_CLASS.items()}
BY_NAME |= {
    "_PythonDecoratedOperator": FACTORY,
    "_BashDecoratedOperator": BASH,
    "_BranchPythonDecoratedOperator": CONTROL_FLOW,
    "_ShortCircuitDecoratedOperator": CONTROL_FLOW,
    "DecoratedSensorOperator": SENSOR,
    "BranchDateTimeOperator": CONTROL_FLOW,
    "BranchDayOfWeekOperator": CONTROL_FLOW,
    "KubernetesPodOperator": K8S,
    "SQLExecuteQueryOperator": SQL,
}
DAG_FILE_MODULE = "unusual_prefix_"  # how Airflow names the module of a DAG file it imports


def operator_name(classes: Sequence[str]) -> str:
    """The operator as a reader knows it: `Class` for Airflow's, `file.Class` for one defined with DAGs."""
    module, _, name = classes[0].rpartition(".")
    if module.startswith(DAG_FILE_MODULE):
        return f"{module.split('_', 3)[-1]}.{name}"
    return name


def _is_dbt(task: dict[str, Any]) -> bool:
    command = task.get("bash_command") or ""
    return any(word in command.split() for word in ("dbt", "dbt-ol")) or command.startswith("dbt ")


def _defined_with_dags(classes: Sequence[str]) -> bool:
    module = classes[0].rpartition(".")[0]
    return module.startswith(DAG_FILE_MODULE) or not module.startswith("airflow.")


def recipe_for(task: dict[str, Any]) -> Recipe:
    """The recipe for one task of `dagbag_report` (or of the REST API: classes holds its one class name)."""
    if task.get("mapped"):
        return MAPPED
    classes: Sequence[str] = task.get("classes") or [task.get("operator", "")]
    found = next((BY_CLASS[name] for name in classes if name in BY_CLASS), None)
    if found is None:
        found = next(
            (BY_NAME[name.rsplit(".", 1)[-1]] for name in classes if name.rsplit(".", 1)[-1] in BY_NAME), None
        )
    if found is BASH and _is_dbt(task):
        return DBT
    if found is not None:
        return found
    if _defined_with_dags(classes) and any("BaseOperator" in name for name in classes[1:]):
        return CUSTOM
    name, module = operator_name(classes), classes[0].rpartition(".")[0]
    return Recipe(
        "no-recipe",
        f"no recipe here for {name}: write an asset factory over what it calls, then proxy it",
        YES,
        f"{name} (from {module or 'an unknown module'}) is not one of the operators this assessment knows",
    )


def time_partitions(dag: dict[str, Any]) -> tuple[bool, str]:
    """Whether the DAG's timetable gives time-window partitions aligned with Airflow's runs, and why."""
    kind = dag["timetable"].rsplit(".", 1)[-1]
    if kind == "CronDataIntervalTimetable":
        return True, f"yes: one partition per data interval of cron `{dag['cron']}`"
    if kind == "DeltaDataIntervalTimetable":
        seconds = dag.get("delta_seconds") or 0
        return True, f"yes, if start_date sits on the grid: fixed intervals of {seconds / 3600:g} h"
    if kind == "NullTimetable":
        return False, "no: no schedule (triggered by hand or by another DAG)"
    if kind == "OnceTimetable":
        return False, "no: runs once"
    if kind == "CronTriggerTimetable":
        return False, "no: a cron trigger gives runs no data interval"
    if kind == "DatasetTriggeredTimetable":
        return False, "no: triggered by datasets (in Dagster, asset dependencies and automation conditions)"
    if kind == "DatasetOrTimeSchedule":
        return False, "no: triggered by datasets or a cron trigger, without data intervals"
    return False, f"no, not without a definition of your own: a custom timetable ({kind})"


def import_error_cause(error: str) -> str:
    """The line of a DagBag import error that says why, and what it means for the learner."""
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    errors = [line for line in lines if ("Error" in line or "Exception" in line) and ":" in line]
    cause = errors[0] if errors else (lines[-1] if lines else "unknown error")
    if "sqlite" in error.lower() and "no such table" in error:
        return f"{cause} (it reads Airflow's metadata database while it is parsed)"
    provider = _missing_provider(error)
    if provider:
        return f"{cause} (needs the provider {provider}: pip install {provider})"
    return cause


def _missing_provider(error: str) -> str | None:
    marker = "No module named 'airflow.providers."
    if marker not in error:
        return None
    module = error.split(marker, 1)[1].split("'", 1)[0].split(".")
    two_part = ("apache", "cncf", "common", "microsoft", "dbt")
    parts = module[:2] if module and module[0] in two_part and len(module) > 1 else module[:1]
    return "apache-airflow-providers-" + "-".join(parts)


def plan_dag(dag: dict[str, Any], recipe: Callable[[dict[str, Any]], Recipe] = recipe_for) -> dict[str, Any]:
    """A DAG of `dagbag_report` with each task's recipe, its partitions and how to migrate it."""
    tasks = []
    for task in dag["tasks"]:
        chosen = recipe(task)
        shown = task["operator"] if task["operator"].startswith("@") else None  # @task, @task.bash, ...
        name = shown or operator_name(task.get("classes") or [task["operator"]])
        tasks.append({**task, "operator_name": name, "recipe": chosen.as_dict()})
    whole = [t for t in tasks if t["recipe"]["whole_dag"]]
    staying = [t for t in tasks if t["recipe"]["alone"] == NO and not t["recipe"]["whole_dag"]]
    fits, partitions = time_partitions(dag)
    if whole:
        how = f"DAG-level: {whole[0]['task_id']} cannot be proxied ({whole[0]['recipe']['reason']})"
    elif staying:
        names = ", ".join(t["task_id"] for t in staying[:3]) + (", ..." if len(staying) > 3 else "")
        how = f"task by task; {len(staying)} task(s) stay in Airflow until the DAG moves ({names})"
    else:
        how = "task by task"
    return {
        **dag,
        "tasks": tasks,
        "time_partitions": fits,
        "time_partitions_why": partitions,
        "how_to_migrate": how,
    }


def dataset_asset_key(uri: str) -> str:
    """The asset key dagster-airlift gives an Airflow dataset: the URI's last path segment, up to its first
    dot (`dagster_airlift.core.load_defs.uri_to_asset_key`, 0.29)."""
    return uri.split("/")[-1].split(".")[0]


def dataset_key_collisions(dags: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Asset key -> the different dataset URIs dagster-airlift would load as that one asset. Any entry makes
    `build_defs_from_airflow_instance` fail ("conflicting AssetSpecs with the same key")."""
    uris = {uri for dag in dags for uri in dag.get("schedule_datasets", [])}
    uris |= {
        uri
        for dag in dags
        for task in dag["tasks"]
        for uri in task.get("outlets", []) + task.get("inlets", [])
    }
    by_key: dict[str, set[str]] = {}
    for uri in uris:
        by_key.setdefault(dataset_asset_key(uri), set()).add(uri)
    return {key: sorted(found) for key, found in sorted(by_key.items()) if len(found) > 1}
