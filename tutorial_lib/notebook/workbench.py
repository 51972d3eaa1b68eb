"""The notebooks' entry point: one object for a running workspace and the tutorial's stage steps."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from tutorial_lib import learner_project, log_excerpts, services, stages
from tutorial_lib.clients.airflow import AirflowClient, AirflowError, DagRun, import_error_message, parse_time
from tutorial_lib.clients.dagster import DagsterClient, DagsterError
from tutorial_lib.errors import LearnerError
from tutorial_lib.names import (
    DAG_ID,
    DAG_PROXY_OPERATOR,
    DAG_RUN_ID_TAG_KEY,
    FULL_DAG_PROXY_TAG,
    LOGIN_USER,
    PARTITION_TAG,
    PROXY_OPERATOR,
    SENSOR_NAME,
    TASK_ID_TAG_KEY,
    override_task,
)
from tutorial_lib.notebook import grading, proxied_state
from tutorial_lib.notebook.tables import Table
from tutorial_lib.progress import WaitTimeout, wait_until
from tutorial_lib.workspace import REPO_ROOT, Workspace, WorkspaceError

UNFINISHED_RUN_STATES = frozenset({"queued", "running"})
# A DAG parse that ended this soon after the file changed may have read the file before the change; how long
# to wait for the parse of the file as it is now.
PARSE_RACE_SECONDS = 3.0
PARSE_RACE_WAIT_SECONDS = 15.0  # a requested parse takes 1-3 s
# The state key of the schedules a stage start stops once the loaded definitions have them.
SCHEDULES_TO_STOP = "schedules_to_stop"
UNFINISHED_TASK_STATES = frozenset({"queued", "running", "scheduled", "restarting", "up_for_retry"})
SCHEDULER_LOOP_SECONDS = 1.5


@dataclass
class Workbench:
    """A workspace with running Airflow and Dagster, and the steps the stage notebooks take."""

    workspace: Workspace
    airflow: AirflowClient
    dagster: DagsterClient
    show: bool = True
    _checked: dict[str, tuple[object, grading.Feedback]] = field(default_factory=dict, repr=False)

    def use_definitions(self, name: str, *, show: bool | None = None) -> None:
        """Serve the named stage definitions (a module of `dagster_defs`) and reload the code location."""
        stages.definitions_module(name)  # refuses an unknown name, listing the known ones
        self.workspace.update_state(definitions=name)
        self.dagster.reload_location(show=self.show if show is None else show)
        self._stop_schedules_left_running()

    def _stop_schedules_left_running(self) -> None:
        """Stop the schedules a stage's start asked to stop, as soon as the loaded definitions have them: the
        learner's starter has none yet, and Dagster keeps a schedule's status from an earlier pass."""
        pending = self.workspace.read_state().get(SCHEDULES_TO_STOP) or []
        left = []
        for schedule in pending:
            try:
                running = self.dagster.schedule(schedule)["status"] == "RUNNING"
            except DagsterError:  # not in these definitions (yet)
                left.append(schedule)
                continue
            if running:
                self.dagster.set_schedule_running(schedule, False)
        if left != pending:
            self.workspace.update_state(**{SCHEDULES_TO_STOP: left})

    def restore_dags(self, stage: str | None = None) -> Path | None:
        """Bring the DAG folder to a stage's start (this stage by default): earlier stages' code in DAG files
        the learner never touched, a removed DAG file back, and every task of the proxied state back in
        Airflow (once the stage follows the one that scaffolds it). An edited proxied-state file is backed up
        first; returns where, or None."""
        ws = self.workspace
        stage = stage or self._current_stage()
        written = time.time()
        done = learner_project.DAGS.catch_up(ws.dags_dir, stage)
        for file in done.pending:
            print(
                f"Note: your dags/{file} still has a TODO of an earlier stage, and this stage builds on it."
            )
        backup, reset = self._reset_proxied_state(stage)
        if (done.filled or reset) and DAG_ID in self.airflow.dag_ids():
            serves = _serves_task_states(self.proxied()) if self.proxied_state_file.exists() else _any
            self._wait_for_airflow_to_parse(DAG_ID, since=written, serves=serves)
        return backup

    def _reset_proxied_state(self, stage: str) -> tuple[Path | None, bool]:
        """Every task back in Airflow: the committed proxied state, if the learner's differs or is missing
        after the stage that scaffolds it. Returns the backup (or None) and whether the file was written."""
        target = self.proxied_state_file
        committed = proxied_state.state_file(REPO_ROOT / "airflow_dags" / "proxied_state", DAG_ID)
        scaffolded_before = stages.definitions_names().index(stages.get(stage).definitions[0]) > (
            stages.definitions_names().index(stages.first_where(lambda s: s.proxying == "tasks").name)
        )
        if target.exists():
            try:
                same = proxied_state.read(target.parent, DAG_ID) == proxied_state.read(
                    committed.parent, DAG_ID
                )
            except proxied_state.ProxiedStateError:
                same = False
            if same:
                return None, False
            backup = self.workspace.backup_dags()
        elif scaffolded_before:
            backup = None
        else:
            return None, False
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(committed, target)
        return backup, True

    def clear_dag_runs(self, dag_id: str = DAG_ID) -> int:
        """Delete every Airflow run of the DAG; return how many there were."""
        if dag_id not in self.airflow.dag_ids():
            return 0
        runs = self.airflow.dag_runs(dag_id)
        # Airflow's scheduler dies (StaleDataError) when a run it is scheduling disappears under it: a run in
        # flight is stopped first, and deleted once no task of it runs any more.
        in_flight = [run["dag_run_id"] for run in runs if run["state"] in UNFINISHED_RUN_STATES]
        for run_id in in_flight:
            self.airflow.mark_run_failed(dag_id, run_id)
        if in_flight:

            def settled() -> bool:
                return not any(
                    task.get("state") in UNFINISHED_TASK_STATES
                    for run_id in in_flight
                    for task in self.airflow.dag_run(dag_id, run_id).tasks
                )

            wait_until(settled, what="Airflow to stop the runs in flight", timeout=60, show=False)
            time.sleep(SCHEDULER_LOOP_SECONDS)  # a loop of the scheduler that loaded them before has ended
        for run in runs:
            self.airflow.delete_run(dag_id, run["dag_run_id"])
        return len(runs)

    def clear_outputs(self) -> None:
        """Remove the data the DAG produces (the DuckDB file, the exported CSV)."""
        for path in (self.workspace.duckdb_path, self.workspace.customers_csv):
            path.unlink(missing_ok=True)
            path.with_name(path.name + ".wal").unlink(missing_ok=True)

    def start_stage(self, stage: str, definitions: str | None = None) -> None:
        """Bring the workspace to a stage's start: committed DAGs, no runs, no asset history, no outputs."""
        backup = self.restore_dags(stage)
        if backup:
            print(f"Your edited DAG files were backed up to {backup.relative_to(self.workspace.home)}.")
        self._catch_up(stage)
        services.wait_for_dag_files(self.workspace, self.airflow, show=self.show)
        self.clear_dag_runs()
        self.clear_outputs()
        loaded = stages.definitions_module(definitions or stages.get(stage).definitions[0])
        # An exercise may start a schedule: each stage starts with its schedules stopped (use_definitions).
        self.workspace.update_state(**{SCHEDULES_TO_STOP: list(loaded.schedules)})
        self.use_definitions(loaded.name)
        self.dagster.delete_runs()
        self.dagster.wipe_assets(self.dagster.assets_with_history())
        self.workspace.update_state(stage=stage)

    def _catch_up(self, stage: str) -> None:
        """Fill in earlier stages' code the learner never wrote, so that `stage` can run; say so."""
        done = learner_project.catch_up(self.workspace.definitions_dir, stage)
        if done.filled:
            shown = ", ".join(f"dagster_defs/{file}" for file in done.filled)
            print(f"Earlier stages' code you had not written is now the reference: {shown}.")
        for file in done.pending:
            print(
                f"Note: your dagster_defs/{file} still has a TODO of an earlier stage, and this stage builds "
                "on it. wb.solution() shows the reference."
            )

    def check(self, name: str | None = None) -> grading.Feedback:
        """Check your work: load your definitions `name` (those Dagster serves now, by default) and say
        what is right, what is missing and how to fix it."""
        name = name or self._loaded_definitions()
        stamp = self._project_stamp()
        before = self._loaded_definitions()
        unfinished = learner_project.unfinished_before(self.workspace.definitions_dir, name)
        try:
            self.use_definitions(name, show=False)
        except DagsterError as exc:
            error = grading.short_load_error(str(exc))
            feedback = grading.Feedback(name, (), load_error=error, unfinished=unfinished)
            if before != name:  # serve what loaded before, so that Dagster keeps working meanwhile
                try:
                    self.use_definitions(before, show=False)
                except DagsterError:
                    self.workspace.update_state(definitions=name)
        else:
            needs_airflow = stages.definitions_module(name).needs_airflow
            dag_error = self._dag_file_error() if needs_airflow else None
            if dag_error:
                feedback = grading.Feedback(
                    name,
                    (),
                    load_error=dag_error,
                    unfinished=unfinished,
                    loader="Airflow could not import it",
                )
            else:
                airflow, dags = (self.airflow, self.workspace.dags_dir) if needs_airflow else (None, None)
                feedback = grading.grade(name, grading.loaded(self.dagster, airflow, dags), unfinished)
        self._checked[name] = (stamp, feedback)
        return feedback

    def _dag_file_error(self) -> str | None:
        """Wait until Airflow has parsed the DAG file as it is now; what Airflow could not import, or None."""
        dag_file = self.workspace.dags_dir / f"{DAG_ID}.py"
        if not dag_file.exists():
            return None
        since = dag_file.stat().st_mtime
        known = DAG_ID in self.airflow.dag_ids()
        try:
            last_parsed = self.airflow.last_parsed(DAG_ID) if known else 0.0
            if known and last_parsed < since:
                self._wait_for_airflow_to_parse(DAG_ID, since=since, serves=_any, show=False, timeout=60)
            elif known and last_parsed < since + PARSE_RACE_SECONDS:
                # A parse that began before the file changed may have ended just after: it read the old file.
                # The new one is parsed within seconds, into a newer parse or (broken) an import error.
                self._wait_for_a_later_parse(dag_file.name, since, last_parsed)
            elif not known:
                services.wait_for_dag_files(self.workspace, self.airflow, show=False, timeout=60)
        except (WorkspaceError, AirflowError, WaitTimeout):
            error = self.airflow.import_error(dag_file.name, since=since)
            return (
                grading.short_import_error(error) if error else f"Airflow has not parsed dags/{dag_file.name}"
            )
        return None

    def _wait_for_a_later_parse(self, filename: str, since: float, last_parsed: float) -> None:
        """Ask Airflow to parse the DAG file again; wait until it has (after `last_parsed`) or has recorded
        an import error for it since `since`, which the caller reads. Give up quietly after the limit."""
        try:
            self.airflow.request_parse(DAG_ID)
        except AirflowError:
            return
        try:
            wait_until(
                lambda: (
                    self.airflow.import_error(filename, since=since)
                    or self.airflow.last_parsed(DAG_ID) > last_parsed
                ),
                what=f"Airflow to parse dags/{filename} again",
                timeout=PARSE_RACE_WAIT_SECONDS,
                show=False,
            )
        except WaitTimeout:
            return
        if self.airflow.import_error(filename, since=since):
            raise WorkspaceError(f"Airflow could not import dags/{filename}")  # reported by the caller

    def checked(self, name: str) -> grading.Feedback:
        """The check of `name` on the project as it is now: the last one if no file changed, else anew."""
        last = self._checked.get(name)
        if last and last[0] == self._project_stamp():
            return last[1]
        return self.check(name)

    def _project_stamp(self) -> tuple[tuple[str, int, int], ...]:
        """Every file of the learner's project and DAG file with its size and change time: changes when a file
        does (not the proxied state, which the notebooks change as they go)."""
        files = [*self.workspace.definitions_dir.rglob("*"), *self.workspace.dags_dir.glob("*.py")]
        return tuple(
            (str(path), stat.st_size, stat.st_mtime_ns)
            for path in sorted(files)
            if path.is_file() and "__pycache__" not in path.parts and (stat := path.stat())
        )

    def _loaded_definitions(self) -> str:
        """The definitions module Dagster serves now (set by `start_stage` and `use_definitions`)."""
        loaded = self.workspace.read_state().get("definitions")
        return loaded or stages.get(self._current_stage()).definitions[0]

    def solution(self, name: str | None = None) -> object:
        """The reference solution of a stage or definitions module (this stage by default), as a diff from
        your files to it."""
        from tutorial_lib.notebook import show

        return show.solution(self.workspace, name or self._current_stage())

    def use_solution(self, name: str | None = None) -> Path | None:
        """Put the reference of a stage or definitions module (this stage by default) in your files (yours are
        backed up first; returns where), and load it where a service serves it now."""
        name = name or self._current_stage()
        written = time.time()
        backup = None
        for tree, root in self._trees():
            wanted = {file: tree.solution_text(file, name) for file in tree.solution_files(name)}
            if all((root / f).exists() and (root / f).read_text() == text for f, text in wanted.items()):
                continue
            saved = (
                self.workspace.backup_dags()
                if tree is learner_project.DAGS
                else self.workspace.backup_project()
            )
            if saved:
                print(f"Your files were backed up to {saved.relative_to(self.workspace.home)}.")
            backup = backup or saved
            for file, text in wanted.items():
                (root / file).parent.mkdir(parents=True, exist_ok=True)
                (root / file).write_text(text)
            if tree is learner_project.DAGS and DAG_ID in self.airflow.dag_ids():
                self._wait_for_airflow_to_parse(DAG_ID, since=written, serves=_any)
        loaded = self.workspace.read_state().get("definitions")
        if backup and loaded in learner_project.modules_of(name):
            self.use_definitions(loaded)
        return backup

    def _trees(self) -> list[tuple[learner_project.Tree, Path]]:
        """The learner's folders: the reference each comes from, and the workspace's copy."""
        return [
            (learner_project.DEFINITIONS, self.workspace.definitions_dir),
            (learner_project.DAGS, self.workspace.dags_dir),
        ]

    def _current_stage(self) -> str:
        """The stage the workspace is at (set by `start_stage`)."""
        return self.workspace.read_state().get("stage") or stages.FIRST.name

    @property
    def proxied_state_file(self) -> Path:
        """The workspace's proxied-state YAML of the tutorial's DAG: the file Airflow reads, yours to edit."""
        return proxied_state.state_file(self.workspace.proxied_state_dir, DAG_ID)

    def wait_for_proxied_state(self, dag_id: str = DAG_ID, *, show: bool | None = None) -> dict[str, bool]:
        """Check the proxied-state YAML as it is now (edited by hand or by `set_proxied`) and wait until
        Airflow serves the operators it implies; return task_id -> proxied, for the tasks Airflow runs."""
        self._require_dag(dag_id)
        path = proxied_state.state_file(self.workspace.proxied_state_dir, dag_id)
        dag_level = proxied_state.read_dag_level(self.workspace.proxied_state_dir, dag_id)
        if dag_level is not None:
            self._wait_for_airflow_to_parse(
                dag_id, since=path.stat().st_mtime, serves=_serves_dag_level(dag_id, dag_level), show=show
            )
            return {task: dag_level for task in self.airflow.tasks(dag_id)}
        states = proxied_state.read(self.workspace.proxied_state_dir, dag_id)
        proxied_state.check_tasks(
            states, self.airflow.tasks(dag_id), str(path.relative_to(self.workspace.home))
        )
        self._wait_for_airflow_to_parse(
            dag_id, since=path.stat().st_mtime, serves=_serves_task_states(states), show=show
        )
        return states

    def cli(self, tool: str, *args: str, check: bool = True) -> int:
        """Run `airlift-tutorial <tool> <args>` (airflow, dagster or dagster-airlift on this workspace); show
        the command and its output; raise if it fails and `check` is set."""
        from tutorial_lib.services import passthrough as commands

        print(f"$ {commands.shown(tool, args)}", flush=True)
        done = commands.run(self.workspace, tool, args, capture_output=True, text=True)
        print(log_excerpts.clean(done.stdout + done.stderr).strip()[-3000:])
        if check and done.returncode != 0:
            raise WorkspaceError(f"`{commands.shown(tool, args)}` failed with exit code {done.returncode}.")
        return done.returncode

    def proxied(self, dag_id: str = DAG_ID) -> dict[str, bool]:
        """task_id -> whether it is proxied to Dagster, from the workspace's proxied-state file."""
        return proxied_state.read(self.workspace.proxied_state_dir, dag_id)

    def set_proxied(self, changes: dict[str, bool], dag_id: str = DAG_ID) -> dict[str, bool]:
        """Proxy tasks to Dagster (True) or back to Airflow (False); return the new state once Airflow has it.

        Only Airflow reads the proxied state: its DAG file swaps each proxied task's operator. Dagster needs
        no reload; its airlift sensor tells proxied tasks apart by the Dagster runs they launched.
        """
        self._require_proxying("tasks", "proxy tasks to Dagster")
        self._require_dag(dag_id)
        known = list(self.airflow.tasks(dag_id))
        proxied_state.update(self.workspace.proxied_state_dir, dag_id, changes, known_tasks=known)
        return self.wait_for_proxied_state(dag_id)

    def set_dag_proxied(self, proxied: bool, dag_id: str = DAG_ID) -> dict[str, bool]:
        """Proxy the whole DAG to Dagster (True: one task launches one Dagster run of all the DAG's assets) or
        give it back to Airflow (False); return task_id -> proxied once Airflow serves the change."""
        self._require_proxying("dag", "proxy the whole DAG to Dagster")
        self._require_dag(dag_id)
        proxied_state.write_dag_level(self.workspace.proxied_state_dir, dag_id, proxied)
        return self.wait_for_proxied_state(dag_id)

    def _wait_for_airflow_to_parse(
        self,
        dag_id: str,
        *,
        since: float,
        serves: Callable[[dict[str, str]], bool],
        timeout: float = 90,
        show: bool | None = None,
    ) -> None:
        """Wait until Airflow has parsed the DAG file after `since` and its tasks (task_id -> operator class)
        are what `serves` expects.

        Airflow's DAG processor parses a DAG file soon after it changes, but the proxied-state YAML is no
        DAG file, and otherwise it waits a minute between parses (which keeps an idle Airflow cheap): so
        the wait asks Airflow to parse the file now, through its REST API.
        """
        dag_file = self.workspace.dags_dir / f"{dag_id}.py"
        if dag_file.exists():  # a parse before the DAG file's own latest change does not count either
            since = max(since, dag_file.stat().st_mtime)
        self.airflow.request_parse(dag_id)

        def parsed() -> bool:
            error = self.airflow.import_error(dag_file.name, since=since)
            if error:  # a broken DAG file: say so now, naming the line, instead of waiting it out
                raise WorkspaceError(import_error_message(error))
            return self.airflow.last_parsed(dag_id) >= since and serves(self.airflow.tasks(dag_id))

        shown = self.show if show is None else show
        wait_until(parsed, what="Airflow to parse the changed DAG files", timeout=timeout, show=shown)

    def _require_proxying(self, proxying: stages.Proxying, action: str) -> None:
        """Refuse a step that the loaded Dagster definitions cannot carry out (a stage run out of order)."""
        state = self.workspace.read_state()
        loaded = state.get("definitions")
        if loaded is None or stages.definitions_module(loaded).proxying != proxying:
            stage = stages.first_where(lambda candidate: candidate.proxying == proxying).name
            raise WorkspaceError(
                f"To {action}, Dagster needs the {stage} stage's definitions, but the workspace has "
                f"{loaded or 'none'} loaded (stage {state.get('stage') or '-'}). "
                f"Run the first cell of the {stage} notebook (it calls wb.start_stage({stage!r})), or "
                f"`airlift-tutorial reset --stage {stage}`."
            )

    def _require_dag(self, dag_id: str) -> None:
        """Refuse to drive a DAG that Airflow does not have (e.g. after the decommission stage)."""
        if dag_id not in self.airflow.dag_ids():
            raise WorkspaceError(
                f"Airflow has no DAG {dag_id!r} in this workspace (the decommission stage removes it). "
                "Run the first cell of this stage's notebook: wb.start_stage(...) puts the committed DAG "
                "files back (backing up edited ones)."
            )

    def run_dag(
        self,
        dag_id: str = DAG_ID,
        *,
        logical_date: datetime | date | None = None,
        timeout: float = 300,
        raise_on_failure: bool = True,
        allow_misaligned: bool = False,
    ) -> DagRun:
        """Trigger a DAG run (for a logical date, if given), wait for it to end showing progress, return it.

        With daily partitions in Dagster, a run whose logical date is not a midnight (UTC) would make the
        airlift sensor fail on every tick; such a run is refused unless allow_misaligned is set on purpose.
        """
        self._require_dag(dag_id)
        if isinstance(logical_date, date) and not isinstance(logical_date, datetime):
            logical_date = midnight(logical_date)
        if self.partitioned and not allow_misaligned:
            check_aligned(logical_date)
        run_id = self.airflow.trigger(dag_id, logical_date=logical_date)
        return self.airflow.wait_for_run(
            dag_id, run_id, timeout=timeout, show=self.show, raise_on_failure=raise_on_failure
        )

    def backfill(self, day: date | str, dag_id: str = DAG_ID, *, timeout: float = 300) -> DagRun:
        """Run the DAG for one past day (its logical date at midnight UTC), replacing an earlier run of it."""
        logical = midnight(day)
        for run in self.airflow.dag_runs(dag_id):
            if parse_time(run["logical_date"]) == logical:
                self.airflow.delete_run(dag_id, run["dag_run_id"])
        return self.run_dag(dag_id, logical_date=logical, timeout=timeout)

    def delete_misaligned_runs(self, dag_id: str = DAG_ID) -> list[str]:
        """Delete the DAG's runs whose logical date is not a midnight (UTC); return their run ids."""
        deleted = []
        for run in self.airflow.dag_runs(dag_id):
            try:
                check_aligned(parse_time(run["logical_date"]))
            except MisalignedRunError:
                self.airflow.delete_run(dag_id, run["dag_run_id"])
                deleted.append(run["dag_run_id"])
        return deleted

    def wait_for_sensor_failure(self, *, timeout: float = 120) -> str:
        """Wait for a failed tick of the airlift sensor; return the first line of its error."""
        failed = wait_until(
            lambda: next(
                (t for t in self.dagster.sensor_ticks(SENSOR_NAME) if t["status"] == "FAILURE"), None
            ),
            what="the airlift sensor to fail a tick",
            timeout=timeout,
            show=self.show,
            alive=self.dagster.alive,
        )
        return (failed.get("error") or "").strip().splitlines()[0]

    @property
    def partitioned(self) -> bool:
        """Whether the loaded definitions give the assets daily partitions."""
        loaded = self.workspace.read_state().get("definitions")
        return bool(loaded) and stages.definitions_module(loaded).partitioned

    def latest_run(self, dag_id: str = DAG_ID) -> DagRun:
        """The most recently started run of the DAG (not the latest logical date), with its task instances."""
        runs = self.airflow.dag_runs(dag_id)
        if not runs:
            raise WorkspaceError(f"{dag_id} has not run yet in this stage: run the cell that triggers it.")
        # A run not started yet (just triggered: no start date, nor a queued time from the command line) is
        # the newest.
        newest = max(runs, key=lambda run: (run.get("start_date") is None, run.get("start_date") or ""))
        return self.airflow.dag_run(dag_id, newest["dag_run_id"])

    def executions(self, run: DagRun) -> Table:
        """Per task of an Airflow run: proxied or not, where it executed, its Dagster run or Airflow try."""
        started = parse_time(run.start_date).timestamp() if run.start_date else 0
        dagster_runs: dict[str | None, dict] = {}
        for found in self.dagster.runs(tags={DAG_RUN_ID_TAG_KEY: run.run_id}):
            if found["creationTime"] >= started:  # newest first: keep the newest run per task
                task_id = found["tags"].get(TASK_ID_TAG_KEY)
                task_id = override_task(run.dag_id) if task_id == FULL_DAG_PROXY_TAG else task_id
                dagster_runs.setdefault(task_id, found)
        rows = []
        for task in run.tasks:
            launched = dagster_runs.get(task["task_id"])
            rows.append(
                {
                    "task": task["task_id"],
                    "proxied": task.get("operator") in (PROXY_OPERATOR, DAG_PROXY_OPERATOR),
                    "executed in": "Dagster" if launched else "Airflow",
                    "Airflow state": task["state"],
                    "Airflow try": task.get("try_number"),
                    "Dagster run": launched["runId"][:8] if launched else None,
                    "Dagster status": launched["status"] if launched else None,
                    "partition": launched["tags"].get(PARTITION_TAG) if launched else None,
                    "assets": len(launched["assetSelection"]) if launched else None,
                }
            )
        return Table(rows)

    def remove_dag(self, dag_id: str = DAG_ID, *, timeout: float = 90) -> None:
        """Delete the DAG file and its proxied state from the workspace; wait until Airflow drops the DAG."""
        (self.workspace.dags_dir / f"{dag_id}.py").unlink(missing_ok=True)
        (self.workspace.proxied_state_dir / f"{dag_id}.yaml").unlink(missing_ok=True)
        # Airflow's DAG processor deactivates the DAG of a deleted file when it next lists the folder.
        wait_until(
            lambda: dag_id not in self.airflow.dag_ids(),
            what=f"Airflow to drop {dag_id}",
            timeout=timeout,
            show=self.show,
            alive=self.airflow.alive,
        )

    def stop_airflow(self) -> int:
        """Stop the workspace's Airflow (every process of it); return how many processes were stopped."""
        return services.stop_service(self.workspace, "airflow")

    @contextmanager
    def broken_raw_customers(self) -> Iterator[Path]:
        """Append a malformed row to the workspace's raw customers CSV for a while; always restore it."""
        path = self.workspace.raw_customers_csv
        original = path.read_bytes()
        path.write_bytes(original + b"101,Broken\n")
        try:
            yield path
        finally:
            path.write_bytes(original)

    def query(self, sql: str) -> Table:
        """Run a read-only SQL query on the workspace's DuckDB file and return its rows as a table.

        The connection is closed before returning: DuckDB lets one process write the file, and an
        Airflow task that finds it held open elsewhere fails with "Could not set lock on file".
        """
        import duckdb

        with duckdb.connect(str(self.workspace.duckdb_path), read_only=True) as connection:
            result = connection.sql(sql)
            return Table(
                (dict(zip(result.columns, row, strict=True)) for row in result.fetchall()), result.columns
            )

    def links(self) -> object:
        """Markdown links to both UIs, for display in a notebook (through Jupyter where it proxies them)."""
        from IPython.display import Markdown

        links = services.ui_links(self.workspace)
        return Markdown(
            f"- [Airflow UI]({links['airflow']})\n- [Dagster UI]({links['dagster']})\n\n"
            f"Both ask for the user `{LOGIN_USER}` and the password in `secrets/airflow_password` "
            "of the workspace."
        )


def _serves_task_states(states: dict[str, bool]) -> Callable[[dict[str, str]], bool]:
    """Whether Airflow's tasks run with the proxy operator exactly where `states` says proxied."""
    return lambda classes: all((classes.get(task) == PROXY_OPERATOR) == on for task, on in states.items())


def _any(tasks: dict[str, str]) -> bool:
    """Any parse of the DAG counts (a DAG file without proxied state serves no particular operators)."""
    return True


def _serves_dag_level(dag_id: str, proxied: bool) -> Callable[[dict[str, str]], bool]:
    """Whether Airflow runs the DAG as one override task (proxied) or as its own tasks, none proxied."""
    if proxied:
        return lambda classes: classes == {override_task(dag_id): DAG_PROXY_OPERATOR}
    return lambda classes: (
        bool(classes) and override_task(dag_id) not in classes and PROXY_OPERATOR not in (classes.values())
    )


def midnight(day: date | str) -> datetime:
    """A day's start, midnight UTC: the logical date of its daily run."""
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


class MisalignedRunError(LearnerError, ValueError):
    """A logical date that is not the start of a daily partition."""


def check_aligned(logical_date: datetime | None) -> None:
    """Refuse a logical date that no daily partition starts at, explaining why."""
    if logical_date is None:
        raise MisalignedRunError(
            "With daily partitions, give the run a logical date at midnight UTC (e.g. "
            "`wb.backfill('2026-03-01')`): a run triggered now gets the current time as its logical date, "
            "which matches no partition. Pass allow_misaligned=True to trigger it anyway."
        )
    moment = logical_date.astimezone(UTC)
    if (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0):
        raise MisalignedRunError(
            f"The logical date {moment.isoformat()} is not the start of a daily partition (midnight UTC). "
            "Dagster's airlift sensor would fail on every tick until that run is deleted, and observe "
            f"nothing else meanwhile. Use {moment.date().isoformat()}T00:00:00+00:00, or pass "
            "allow_misaligned=True to see the failure on purpose."
        )


def up(home: Workspace | str | Path | None = None, *, show: bool = True, **ports: int | None) -> Workbench:
    """Start (or reuse) the workspace's services and return the Workbench for them.

    When the definitions Dagster last served are the learner's and no longer load (a file broken, or a later
    stage's starter after the project was reset), Dagster serves the first stage's instead, and a note says
    so: the learner gets `wb` (to check, compare with or use the solution), and the stage's start loads theirs
    again, naming what is wrong.
    """
    try:
        running = services.up(home, show=show, **ports)
    except DagsterError as error:
        ws = Workspace.of(home)
        first = stages.FIRST.definitions[0]
        selected = ws.read_state().get("definitions") or first
        if "failed to load" not in str(error) or selected == first:
            raise
        print(
            f"Note: your {selected} definitions do not load: {grading.short_load_error(str(error))}. "
            f"Dagster serves the first stage's until this stage's start loads yours again.",
            file=sys.stderr,
        )
        ws.update_state(definitions=None)
        running = services.up(home, show=show, **ports)
    wb = Workbench(workspace=running.workspace, airflow=running.airflow, dagster=running.dagster, show=show)
    from tutorial_lib.notebook import when_checked

    when_checked.register(wb)
    return wb


def utc_time(timestamp: float) -> str:
    """A unix timestamp as a readable UTC time, to the minute."""
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def seconds_between(earlier: str | float, later: str | float) -> float:
    """Seconds from one moment to another, each an Airflow ISO time or a unix timestamp."""

    def as_unix(value: str | float) -> float:
        return parse_time(value).timestamp() if isinstance(value, str) else float(value)

    return as_unix(later) - as_unix(earlier)
