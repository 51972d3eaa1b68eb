"""Read, validate and change a DAG's proxied-state YAML in the workspace's DAG folder."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml

from tutorial_lib.errors import LearnerError


class ProxiedStateError(LearnerError, ValueError):
    """A proxied-state file or change is invalid; the message names the problem and the fix."""


def state_file(proxied_state_dir: Path, dag_id: str) -> Path:
    """The YAML file that holds the proxied state of one DAG."""
    return proxied_state_dir / f"{dag_id}.yaml"


def parse(text: str, source: str) -> dict[str, bool]:
    """task_id -> proxied, from the YAML text of a proxied-state file; ProxiedStateError if malformed."""
    fix = f"Fix {source} by hand, or restore the committed file with `airlift-tutorial reset`."
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProxiedStateError(f"{source} is not valid YAML ({exc}). {fix}") from exc
    if isinstance(document, dict) and "proxied" in document and "tasks" not in document:
        raise ProxiedStateError(
            f"{source} proxies the whole DAG (`proxied: {str(document['proxied']).lower()}`), not task by "
            f"task. Task-level steps need a list under `tasks:`. {fix}"
        )
    if not isinstance(document, dict) or not isinstance(document.get("tasks"), list):
        raise ProxiedStateError(f"{source} must be a mapping with a list under `tasks:`. {fix}")
    states: dict[str, bool] = {}
    for number, entry in enumerate(document["tasks"], start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise ProxiedStateError(f"{source}: task entry {number} needs an `id:` (a task id). {fix}")
        if not isinstance(entry.get("proxied"), bool):
            raise ProxiedStateError(
                f"{source}: task {entry['id']!r} needs `proxied: true` or `proxied: false`, "
                f"got {entry.get('proxied')!r}. {fix}"
            )
        if entry["id"] in states:
            raise ProxiedStateError(f"{source}: task {entry['id']!r} is listed twice. {fix}")
        states[entry["id"]] = entry["proxied"]
    return states


def parse_dag_level(text: str, source: str) -> bool | None:
    """The DAG-level flag of a proxied-state file (`proxied: true|false`), or None if it lists tasks."""
    fix = f"Fix {source} by hand, or restore the committed file with `airlift-tutorial reset`."
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProxiedStateError(f"{source} is not valid YAML ({exc}). {fix}") from exc
    if not isinstance(document, dict) or ("proxied" in document) == ("tasks" in document):
        raise ProxiedStateError(
            f"{source} must hold either `proxied: true|false` (the whole DAG) or a list under `tasks:` "
            f"(task by task), not both and not neither. {fix}"
        )
    if "tasks" in document:
        parse(text, source)  # the task-level form must be valid too
        return None
    if not isinstance(document["proxied"], bool):
        raise ProxiedStateError(
            f"{source}: `proxied:` must be true or false, got {document['proxied']!r}. {fix}"
        )
    return document["proxied"]


def read_dag_level(proxied_state_dir: Path, dag_id: str) -> bool | None:
    """Whether the whole DAG is proxied (True/False), or None when its file proxies task by task."""
    path = state_file(proxied_state_dir, dag_id)
    if not path.exists():
        raise ProxiedStateError(
            f"There is no proxied-state file {path}. Run `airlift-tutorial reset` to restore it."
        )
    return parse_dag_level(path.read_text(), str(path))


def write_dag_level(proxied_state_dir: Path, dag_id: str, proxied: bool) -> None:
    """Proxy the whole DAG to Dagster (True) or run it in Airflow (False), replacing any task list."""
    if not isinstance(proxied, bool):
        raise ProxiedStateError(f"The DAG's proxied flag must be True or False, got {proxied!r}.")
    text = f"# {dag_id} as a whole: run in Dagster (proxied: true) or in Airflow (proxied: false).\n"
    _replace(state_file(proxied_state_dir, dag_id), text + f"proxied: {str(proxied).lower()}\n")


def _replace(path: Path, text: str) -> None:
    """Write a file whole, so that Airflow's DAG processor never reads half of it."""
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def read(proxied_state_dir: Path, dag_id: str) -> dict[str, bool]:
    """The current proxied state of a DAG's tasks."""
    path = state_file(proxied_state_dir, dag_id)
    if not path.exists():
        raise ProxiedStateError(
            f"There is no proxied-state file {path}. Run `airlift-tutorial reset` to restore it."
        )
    return parse(path.read_text(), str(path))


def check_tasks(states: Mapping[str, bool], known_tasks: Iterable[str], source: str) -> None:
    """Refuse task ids the DAG does not have (a typo in a hand-edited file), naming the DAG's tasks."""
    known = set(known_tasks)
    unknown = sorted(set(states) - known)
    if unknown:
        raise ProxiedStateError(
            f"{source} names task(s) {', '.join(unknown)}, which the DAG does not have. Its tasks are: "
            f"{', '.join(sorted(known))}. Fix the `id:` lines and save the file again."
        )


def render(states: Mapping[str, bool], dag_id: str) -> str:
    """The YAML text of a proxied-state file."""
    lines = [f"# Which tasks of {dag_id} run in Dagster (proxied: true) instead of Airflow.", "tasks:"]
    for task_id, proxied in states.items():
        lines += [f"  - id: {task_id}", f"    proxied: {str(proxied).lower()}"]
    return "\n".join(lines) + "\n"


def update(
    proxied_state_dir: Path,
    dag_id: str,
    changes: Mapping[str, bool],
    known_tasks: Iterable[str] | None = None,
) -> dict[str, bool]:
    """Set tasks' proxied flags; validate everything first so an invalid change leaves the file untouched."""
    states = read(proxied_state_dir, dag_id)
    known = set(known_tasks) if known_tasks is not None else set(states)
    unknown = sorted(set(changes) - known)
    if unknown:
        raise ProxiedStateError(
            f"Unknown task id(s) {', '.join(unknown)} for DAG {dag_id}. "
            f"Its tasks are: {', '.join(sorted(known))}."
        )
    bad = {task: value for task, value in changes.items() if not isinstance(value, bool)}
    if bad:
        raise ProxiedStateError(f"Proxied flags must be True or False, got {bad}.")
    new_states = {**states, **changes}
    _replace(state_file(proxied_state_dir, dag_id), render(new_states, dag_id))
    return new_states
