"""Check your work: what the learner's definitions give Dagster, compared with what each exercise asks for.

The facts come from the running services (Dagster's GraphQL API, Airflow's REST API), as the proofs' do; the
rules are plain functions of those facts, each finding said in the learner's terms with how to fix it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from tutorial_lib import learner_project
from tutorial_lib.clients.dagster import key_string
from tutorial_lib.names import CHECK_NAME, CSV_ASSET, DAG_ASSET, DAG_ID, DBT_ASSETS, RAW_TABLE, SCHEDULE_NAME
from tutorial_lib.notebook import views

DEFINITIONS_QUERY = """
query {
  assetNodes {
    assetKey { path }
    isExecutable
    partitionDefinition { description }
    assetChecksOrError { ... on AssetChecks { checks { name } } }
  }
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes { jobs { name } schedules { name cronSchedule executionTimezone pipelineName } }
    }
  }
}
"""
START = re.compile(r"starting (\d{4}-\d\d-\d\d)")
OWNERS = {
    RAW_TABLE: "load_raw_customers",
    **dict.fromkeys(DBT_ASSETS, "build_dbt_models"),
    CSV_ASSET: "export_customers",
}
DAILY_CRON = "0 0 * * *"
# The tag proxying_to_dagster gives a DAG whose proxied state it read (dagster-airlift 0.29's wording).
PROXYING_TAG = re.compile(r"^\d+ Tasks? Marked as Proxied to Dagster$|^Dag overriden to Dagster$")


@dataclass(frozen=True)
class Asset:
    """One asset as the loaded definitions describe it."""

    key: str
    owner: str | None  # the Airflow task it is mapped to, "DAG", or None
    deps: tuple[str, ...] = ()
    executable: bool = False
    partitions: str | None = None  # Dagster's description, e.g. "Daily, starting 2026-01-01 UTC."
    checks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Loaded:
    """What Dagster loaded from the learner's project, and the DAG's start date in Airflow."""

    assets: dict[str, Asset]
    jobs: tuple[str, ...] = ()
    schedules: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> cron, timezone, job
    dag_start: date | None = None
    dag_tags: tuple[str, ...] | None = None  # the DAG's tags in Airflow (None: Airflow not asked)
    dag_source: str | None = None  # the workspace's DAG file (None: not read)
    proxied_state_file: bool | None = None  # whether the DAG's proxied-state YAML exists


def loaded(dagster: object, airflow: object | None = None, dags_dir: Path | None = None) -> Loaded:
    """Read the loaded definitions from Dagster (the DAG's start date and tags from Airflow, and its file and
    proxied state from the workspace's DAG folder, if given)."""
    data = dagster.query(DEFINITIONS_QUERY)  # type: ignore[attr-defined]
    graph = {node.key: node for node in views.asset_graph(dagster)}  # type: ignore[arg-type]
    assets = {}
    for node in data["assetNodes"]:
        key = key_string(node["assetKey"]["path"])
        checks = (node.get("assetChecksOrError") or {}).get("checks") or []
        shape = graph.get(key)
        assets[key] = Asset(
            key,
            shape.owner if shape else None,
            shape.deps if shape else (),
            bool(node["isExecutable"]),
            (node.get("partitionDefinition") or {}).get("description"),
            tuple(sorted(check["name"] for check in checks)),
        )
    repos = (data.get("repositoriesOrError") or {}).get("nodes") or []
    jobs = tuple(
        sorted(job["name"] for repo in repos for job in repo["jobs"] if not job["name"].startswith("__"))
    )
    schedules = {
        s["name"]: {"cron": s["cronSchedule"], "timezone": s["executionTimezone"], "job": s["pipelineName"]}
        for repo in repos
        for s in repo["schedules"]
    }
    start, tags = None, None
    if airflow is not None and DAG_ID in airflow.dag_ids():  # type: ignore[attr-defined]
        details = airflow.request("GET", f"dags/{DAG_ID}/details")  # type: ignore[attr-defined]
        start = date.fromisoformat(details["start_date"][:10]) if details.get("start_date") else None
        # The DAG's own record holds the tags of its latest parse; `details` may come from the webserver's
        # cached copy of the DAG, up to min_serialized_dag_fetch_interval behind.
        dag = airflow.request("GET", f"dags/{DAG_ID}")  # type: ignore[attr-defined]
        tags = tuple(tag["name"] for tag in dag.get("tags") or [])
    source, state = None, None
    if dags_dir is not None:
        dag_file = dags_dir / f"{DAG_ID}.py"
        source = dag_file.read_text() if dag_file.exists() else ""
        state = (dags_dir / "proxied_state" / f"{DAG_ID}.yaml").exists()
    return Loaded(assets, jobs, schedules, start, tags, source, state)


@dataclass(frozen=True)
class Finding:
    """One thing the check looked at: right or not, and how to fix it."""

    ok: bool
    what: str
    fix: str = ""


Rule = Callable[[Loaded], list[Finding]]


def _named(keys: list[str]) -> str:
    """Asset keys as a learner reads them: the dbt assets as one group, the others by name."""
    dbt = [key for key in keys if key in DBT_ASSETS]
    shown = [key for key in keys if key not in DBT_ASSETS]
    if len(dbt) == len(DBT_ASSETS):
        shown.append(f"the {len(dbt)} dbt assets")
    else:
        shown.extend(dbt)
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _verb(keys: list[str], one: str, many: str) -> str:
    return one if len(keys) == 1 and keys[0] not in DBT_ASSETS else many


def _mapped(loaded: Loaded, owners: dict[str, str]) -> list[Finding]:
    unmapped: dict[str, list[str]] = {}
    elsewhere: dict[tuple[str, str], list[str]] = {}
    for key, task in owners.items():
        asset = loaded.assets.get(key)
        if asset is None or asset.owner is None:
            unmapped.setdefault(task, []).append(key)
        elif asset.owner != task:
            elsewhere.setdefault((asset.owner, task), []).append(key)
    findings = [
        Finding(
            False, f"{_named(keys)} {_verb(keys, 'is', 'are')} not mapped to any task", f"map {task} to it"
        )
        for task, keys in unmapped.items()
    ]
    findings += [
        Finding(False, f"{_named(keys)} {_verb(keys, 'is', 'are')} mapped to {owner}", f"{task} writes it")
        for (owner, task), keys in elsewhere.items()
    ]
    extra = sorted(k for k, a in loaded.assets.items() if a.owner and a.owner != "DAG" and k not in owners)
    if extra:
        verb = _verb(extra, "is", "are")
        findings.append(
            Finding(False, f"{_named(extra)} {verb} mapped, but no task writes it", "leave it out")
        )
    return findings or [Finding(True, "each task is mapped to the assets it writes")]


def _check_on(loaded: Loaded, key: str) -> list[Finding]:
    where = sorted(k for k, asset in loaded.assets.items() if CHECK_NAME in asset.checks)
    if where == [key]:
        return [Finding(True, f"the check {CHECK_NAME} is on {key}")]
    if not where:
        return [Finding(False, f"no check named {CHECK_NAME}", f"add it to the definitions, on {key}")]
    return [Finding(False, f"the check {CHECK_NAME} is on {', '.join(where)}", f"put it on {key} alone")]


def _depends(loaded: Loaded, key: str, upstream: str) -> list[Finding]:
    asset = loaded.assets.get(key)
    if asset is None:
        return []
    if upstream in asset.deps:
        return [Finding(True, f"{key} depends on {upstream}")]
    return [
        Finding(
            False, f"{key} does not depend on {upstream}", f"give its spec deps=[<the key of {upstream}>]"
        )
    ]


def peer(loaded: Loaded) -> list[Finding]:
    """Stage 1: the DAG is an asset, from an instance named "airflow"."""
    dags = sorted(key for key in loaded.assets if key.endswith(f"/dag/{DAG_ID}"))
    if DAG_ASSET in loaded.assets:
        return [Finding(True, f"the DAG is the asset {DAG_ASSET}")]
    if dags:
        return [Finding(False, f"the DAG's asset is {dags[0]}", 'name the AirflowInstance "airflow"')]
    return [
        Finding(
            False,
            "Dagster has no asset for the DAG",
            "build defs with build_defs_from_airflow_instance(airflow_instance=...)",
        )
    ]


def peer_check(loaded: Loaded) -> list[Finding]:
    """Stage 1, second part: the check sits on the DAG's asset."""
    return [*peer(loaded), *_check_on(loaded, DAG_ASSET)]


def observe(loaded: Loaded) -> list[Finding]:
    """Stage 2: each task's assets, the CSV after the customers model, the check on the CSV."""
    return [
        *_mapped(loaded, OWNERS),
        *_depends(loaded, CSV_ASSET, "customers"),
        *_check_on(loaded, CSV_ASSET),
    ]


def _partitioned(loaded: Loaded) -> list[Finding]:
    findings = []
    bare = [key for key in OWNERS if key in loaded.assets and not loaded.assets[key].partitions]
    if bare:
        verb = _verb(bare, "has", "have")
        findings.append(
            Finding(False, f"{_named(bare)} {verb} no partitions_def", "give them daily partitions")
        )
    kinds: dict[str, list[str]] = {}
    starts: dict[str, list[str]] = {}
    for key in OWNERS:
        asset = loaded.assets.get(key)
        if asset is None or not asset.partitions:
            continue
        if not asset.partitions.startswith("Daily"):
            kinds.setdefault(asset.partitions, []).append(key)
        elif (start := START.search(asset.partitions)) and loaded.dag_start:
            if date.fromisoformat(start[1]) != loaded.dag_start:
                starts.setdefault(start[1], []).append(key)
    for kind, keys in kinds.items():
        findings.append(Finding(False, f"the partitions of {_named(keys)}: {kind}", "make them daily"))
    for start, keys in starts.items():
        findings.append(
            Finding(
                False,
                f"the partitions of {_named(keys)} start {start} but the DAG starts {loaded.dag_start}",
                "start them on the DAG's start_date",
            )
        )
    if not findings:
        findings.append(Finding(True, "every task's asset has daily partitions from the DAG's start date"))
    return findings


def partitions(loaded: Loaded) -> list[Finding]:
    """Stage 3: stage 2's mapping, now with daily partitions aligned with the DAG."""
    return [*_mapped(loaded, OWNERS), *_partitioned(loaded)]


def _executable(loaded: Loaded, keys: tuple[str, ...]) -> list[Finding]:
    findings = []
    for key in keys:
        asset = loaded.assets.get(key)
        if asset is not None and not asset.executable:
            findings.append(
                Finding(
                    False, f"{key} is a spec Dagster cannot run", "return a @multi_asset built on the spec"
                )
            )
    if not findings:
        findings.append(Finding(True, f"Dagster can run {', '.join(keys)}"))
    return findings


def _dag_proxies(loaded: Loaded) -> list[Finding]:
    """The Airflow side of migrating: a proxied-state YAML, and a DAG file that reads it."""
    findings = []
    if loaded.proxied_state_file is False:
        findings.append(
            Finding(
                False,
                f"dags/proxied_state/{DAG_ID}.yaml does not exist",
                "create it with `airlift-tutorial dagster-airlift proxy scaffold` (in a terminal)",
            )
        )
    if loaded.dag_tags is not None:
        if any(PROXYING_TAG.search(tag) for tag in loaded.dag_tags):
            findings.append(Finding(True, "the DAG file hands its proxied tasks to Dagster"))
        elif loaded.proxied_state_file is not False:
            findings.append(
                Finding(
                    False,
                    "the DAG does not hand tasks to Dagster",
                    "end its file with proxying_to_dagster(...)",
                )
            )
    return findings


def migrate(loaded: Loaded) -> list[Finding]:
    """Stage 4: the loader and exporter are executable assets, still mapped to their tasks; the DAG file
    proxies the tasks its YAML marks."""
    return [
        *_mapped(loaded, OWNERS),
        *_executable(loaded, (RAW_TABLE, CSV_ASSET)),
        *_partitioned(loaded),
        *_dag_proxies(loaded),
    ]


def decommission(loaded: Loaded) -> list[Finding]:
    """Stage 5: no Airflow; the DAG's job and a daily schedule in Dagster."""
    findings = []
    if any("/dag/" in key for key in loaded.assets):
        findings.append(Finding(False, "the definitions still peer into Airflow", "leave airlift out"))
    if DAG_ID in loaded.jobs:
        findings.append(Finding(True, f"a job named {DAG_ID}"))
    else:
        findings.append(Finding(False, f"no job named {DAG_ID}", "define_asset_job(name=DAG_ID, ...)"))
    on_job = {name: s for name, s in loaded.schedules.items() if s["job"] == DAG_ID}
    if not on_job:
        findings.append(Finding(False, f"no schedule runs {DAG_ID}", f"add one named {SCHEDULE_NAME}"))
    for name, schedule in on_job.items():
        if schedule["cron"] != DAILY_CRON or schedule["timezone"] not in ("UTC", "Etc/UTC"):
            findings.append(
                Finding(
                    False,
                    f"the schedule {name} runs at {schedule['cron']} {schedule['timezone']}",
                    f"run it at {DAILY_CRON} UTC, like @daily",
                )
            )
        elif name != SCHEDULE_NAME:
            findings.append(Finding(False, f"the schedule is named {name}", f"name it {SCHEDULE_NAME}"))
        else:
            findings.append(Finding(True, f"{name} runs {DAG_ID} at {DAILY_CRON} UTC"))
    return [*findings, *_check_on(loaded, CSV_ASSET)]


def dag_level(loaded: Loaded) -> list[Finding]:
    """Variant: every asset mapped to the DAG as a whole, executable."""
    unmapped = sorted(key for key in OWNERS if (a := loaded.assets.get(key)) is None or a.owner != "DAG")
    if unmapped:
        verb = _verb(unmapped, "is", "are")
        return [Finding(False, f"{_named(unmapped)} {verb} not mapped to the DAG", "list them under DAG_ID")]
    findings = [
        Finding(True, "all nine assets are mapped to the DAG"),
        *_executable(loaded, (RAW_TABLE, CSV_ASSET)),
    ]
    if loaded.dag_source is not None and "build_from_dag_fn" not in loaded.dag_source:
        findings.append(
            Finding(
                False,
                "the DAG file's proxying_to_dagster has no build_from_dag_fn",
                "add build_from_dag_fn=PatientProxyDAGToDagsterOperator.build_from_dag",
            )
        )
    return findings


def component(loaded: Loaded) -> list[Finding]:
    """Variant: the component's YAML maps each task to its assets, as stage 2 did in Python."""
    return [*_mapped(loaded, OWNERS), *_depends(loaded, CSV_ASSET, "customers")]


# One rule per definitions module of the registry, named after it (tests/notebook/test_grading.py checks).
RULES: dict[str, Rule] = {
    rule.__name__: rule
    for rule in (peer, peer_check, observe, partitions, migrate, decommission, dag_level, component)
}


@dataclass(frozen=True)
class Feedback:
    """The answer of "check your work": done, or not done yet with what to fix; shown in the notebook."""

    name: str  # the definitions module
    findings: tuple[Finding, ...]
    load_error: str | None = None  # the file and line that did not load, instead of findings
    unfinished: tuple[str, ...] = ()  # earlier exercises' files with their TODO still in them
    loader: str = "Dagster could not load it"  # who failed on `load_error`: Dagster, or Airflow's DAG parse

    @property
    def done(self) -> bool:
        """Whether the learner's code does what the exercise asks."""
        return self.load_error is None and not self.unfinished and all(f.ok for f in self.findings)

    @property
    def files(self) -> str:
        """The learner's files for this exercise, as they know them."""
        return ", ".join(learner_project.shown_files(self.name))

    def lines(self) -> list[str]:
        """The feedback as plain lines."""
        head = f"{self.name}: done" if self.done else f"{self.name}: not done yet ({self.files})"
        earlier = [f"  ✘ {item} still has its TODO: this exercise builds on it" for item in self.unfinished]
        if self.load_error:
            return [head, f"  ✘ {self.loader}: {self.load_error}", *earlier]
        lines = [head, *earlier]
        for finding in self.findings:
            fix = f": {finding.fix}" if finding.fix and not finding.ok else ""
            lines.append(f"  {'✔' if finding.ok else '✘'} {finding.what}{fix}")
        if not self.done:
            lines.append(f"  Stuck? wb.solution({self.name!r}) shows the reference as a diff from your file.")
        return lines

    def __repr__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        head, *rest = self.lines()
        color = "#166534" if self.done else "#92400e"
        items = "".join(f"<li style='list-style:none'>{html.escape(line.strip())}</li>" for line in rest)
        return f"<p style='color:{color}'><b>{html.escape(head)}</b></p><ul>{items}</ul>"


def grade(name: str, loaded_definitions: Loaded, unfinished: tuple[str, ...] = ()) -> Feedback:
    """The feedback for definitions module `name` on what Dagster loaded."""
    return Feedback(name, tuple(RULES[name](loaded_definitions)), unfinished=unfinished)


SYNTAX_AT = re.compile(r'File "(?:[^"]*?/)?(?P<shown>project/dagster_defs/[^"]+|[^"/]+)", line (?P<line>\d+)')


def short_load_error(message: str) -> str:
    """A code location's load error in one line a learner reads: the innermost error, and where it is."""
    lines = [line for line in message.splitlines() if line.strip()]
    where = next((line[len("Where: ") :] for line in lines if line.startswith("Where: ")), None)
    causes = [line[len("Caused by: ") :] for line in lines if line.startswith("Caused by: ")]
    errors = [line for line in lines if re.match(r"^\w+(Error|Exception)\b", line)]
    what = (errors or causes or [lines[-1] if lines else message])[-1].strip()
    what = re.sub(r" \(/[^)]*\)", "", what)  # an installed package's path: not the learner's to fix
    if where:  # wherever the workspace is, the learner's file is named as the notebooks name it
        where = re.sub(r"^\S*?(?=project/dagster_defs/)", "", where)
    if what.startswith(("SyntaxError", "IndentationError", "TabError")):
        # Python names the broken file itself; the Where line would be the line that imports it.
        at = next((m for line in lines if (m := SYNTAX_AT.search(line))), None)
        if at:
            where = f"{at['shown']}, line {at['line']}"
    return f"{what} (at {where})" if where else what


DAG_FRAME = re.compile(r'File "(?:[^"]*?/)?(?P<shown>dags/[^"/]+\.py)", line (?P<line>\d+)')


def short_import_error(error: dict[str, str]) -> str:
    """Airflow's import error of a DAG file in one line: the error, and the DAG file's line it points at."""
    trace = error.get("stack_trace") or ""
    lines = [line for line in trace.splitlines() if line.strip()]
    what = re.sub(r" \(/[^)]*\)", "", lines[-1].strip()) if lines else "Airflow could not import it"
    frames = list(DAG_FRAME.finditer(trace))
    return f"{what} (at {frames[-1]['shown']}, line {frames[-1]['line']})" if frames else what
