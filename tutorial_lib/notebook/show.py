"""What the notebooks show of the code a learner writes: definitions modules, what changed between stages, the
DAG file and the proxied-state YAML. Paths are shown relative, so stored outputs hold no machine paths."""

from __future__ import annotations

import ast
import difflib
import html
from pathlib import Path

from tutorial_lib import learner_project, regions, stages
from tutorial_lib.names import DAG_ID
from tutorial_lib.notebook.proxied_state import state_file as proxied_state_file
from tutorial_lib.workspace import REPO_ROOT, Workspace, WorkspaceError

DEFINITIONS_DIR = REPO_ROOT / "dagster_defs"
SHARED_MODULES = ("airflow_instance", "shared", "dbt", "assets")
DAG_FILE = f"{DAG_ID}.py"
PROXIED_STATE_FILE = f"proxied_state/{DAG_ID}.yaml"


def _module(name: str) -> Path:
    if name.endswith(".py"):  # a path in the repository, e.g. customers_pipeline/operators.py
        return REPO_ROOT / name
    known = (*stages.definitions_names(), *SHARED_MODULES)
    if name not in known:
        choices = ", ".join(known)
        raise WorkspaceError(f"Unknown definitions module {name!r}; choose one of: {choices}.")
    return DEFINITIONS_DIR / f"{name}.py"


class Source:
    """Code shown in a notebook: a fenced Markdown block (highlighted in JupyterLab and on GitHub), and the
    plain text that nbval compares."""

    def __init__(self, text: str, language: str = "python") -> None:
        self.text, self.language = text.rstrip("\n"), language

    def __repr__(self) -> str:
        return self.text

    def _repr_markdown_(self) -> str:
        fence = "````" if "```" in self.text else "```"
        return f"{fence}{self.language}\n{self.text}\n{fence}"


def code(text: str, language: str = "python") -> Source:
    """Code to show in a notebook."""
    return Source(text, language)


def _read(path: Path) -> str:
    """A repository file as a reader should see it: a `dagster_defs` file solved, without its markers."""
    if path.is_relative_to(DEFINITIONS_DIR):
        return learner_project.rendered(path.relative_to(DEFINITIONS_DIR), lambda region: True)
    return path.read_text()


def definitions(name: str) -> Source:
    """A `dagster_defs` module, in full."""
    return code(_read(_module(name)))


def exercise(name: str) -> Source:
    """What the learner writes for a definitions module: each file's TODOs with their hints, as the starter
    has them (the earlier stages' code in place)."""
    order = stages.definitions_names()
    index = order.index(stages.definitions_module(name).name)
    blocks, suffixes = [], set()
    for tree in learner_project.TREES:
        for file in tree.files_of(name):
            text = tree.rendered(file, lambda region: order.index(region) < index)
            blocks.append(f"# {tree.shown}/{file}\n" + _todo_context(text, name))
            suffixes.add(file.suffix)
    return code("\n\n".join(blocks), language="yaml" if suffixes == {".yaml"} else "python")


def _todo_context(text: str, name: str, around: int = 2) -> str:
    """The lines of `name`'s TODOs and a few lines around each, `...` between the parts."""
    lines = text.splitlines()
    marker = f"# {regions.TODO} ({name}):"
    keep: set[int] = set()
    for index, line in enumerate(lines):
        if marker in line:
            end = index + 1
            while end < len(lines) and lines[end].lstrip().startswith("#   "):
                end += 1
            keep.update(range(max(0, index - around), min(len(lines), end + around)))
    shown, last = [], -1
    for index in sorted(keep):
        if last >= 0 and index != last + 1:
            shown.append("...")
        shown.append(lines[index])
        last = index
    return "\n".join(shown)


def excerpt(name: str, *symbols: str) -> Source:
    """Only the named top-level functions, classes or assignments of a `dagster_defs` module."""
    text = _read(_module(name))
    lines = text.splitlines()
    parts = []
    for node in ast.parse(text).body:
        names = {getattr(node, "name", None)} | {
            target.id for target in getattr(node, "targets", []) if isinstance(target, ast.Name)
        }
        if names & set(symbols):
            start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
            parts.append("\n".join(lines[start - 1 : node.end_lineno]))
    if not parts:
        raise WorkspaceError(f"{_shown_path(name)} defines none of {', '.join(symbols)}.")
    return code(f"# {_shown_path(name)} (excerpt)\n" + "\n\n\n".join(parts))


def _shown_path(name: str) -> str:
    return name if name.endswith(".py") else f"dagster_defs/{name}.py"


def source(relative: str, language: str = "python") -> Source:
    """A file of the repository (the committed DAG, the dbt project, ...), in full."""
    return code(f"# {relative}\n" + _read(REPO_ROOT / relative), language=language)


def folder(relative: str) -> Source:
    """The files of a repository folder, as an indented tree (caches left out)."""
    root = REPO_ROOT / relative
    lines = [f"{relative}/"]
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        depth = len(path.relative_to(root).parts)
        lines.append("    " * depth + path.name + ("/" if path.is_dir() else ""))
    return code("\n".join(lines), language="text")


class SideBySide:
    """Two pieces of code next to each other (HTML, in JupyterLab and on GitHub); one after the other in the
    plain text that nbval compares."""

    def __init__(self, left: Source, right: Source) -> None:
        self.left, self.right = left, right

    def __repr__(self) -> str:
        return f"{self.left.text}\n\n{self.right.text}"

    def _repr_html_(self) -> str:
        cells = "".join(
            f'<td style="vertical-align:top;text-align:left"><pre>{html.escape(part.text)}</pre></td>'
            for part in (self.left, self.right)
        )
        return f"<table><tr>{cells}</tr></table>"


def side_by_side(left: Source, right: Source) -> SideBySide:
    """Show two sources next to each other, e.g. Python definitions and the YAML that replaces them."""
    return SideBySide(left, right)


def changes(before: str, after: str) -> Source:
    """What changed from one `dagster_defs` module to the next, as a unified diff."""
    old, new = _module(before), _module(after)
    diff = difflib.unified_diff(
        _read(old).splitlines(),
        _read(new).splitlines(),
        f"dagster_defs/{old.name}",
        f"dagster_defs/{new.name}",
        lineterm="",
        n=2,
    )
    return code("\n".join(diff), language="diff")


def dag_tail(workspace: Workspace) -> Source:
    """The last paragraph of the workspace's DAG file: where `proxying_to_dagster` reads the proxied state."""
    text = (workspace.dags_dir / DAG_FILE).read_text().rstrip()
    return code("# ... (the DAG and its tasks above)\n" + text.rsplit("\n\n", 1)[-1])


def proxied_state(workspace: Workspace) -> Source:
    """The workspace's proxied-state YAML, as Airflow reads it."""
    path = proxied_state_file(workspace.proxied_state_dir, DAG_ID)
    if not path.exists():
        return code(
            f"# dags/{PROXIED_STATE_FILE}: no such file. `airlift-tutorial dagster-airlift proxy scaffold` "
            "makes it (stage 4); removing the DAG (stage 5) deletes it.",
            language="yaml",
        )
    return code(f"# dags/{PROXIED_STATE_FILE}\n" + path.read_text(), language="yaml")


def solution(workspace: Workspace, name: str) -> Source:
    """What the reference has that the learner's files of a stage (or definitions module) do not: a diff from
    theirs to it."""
    lines: list[str] = []
    roots = {learner_project.DEFINITIONS: workspace.definitions_dir, learner_project.DAGS: workspace.dags_dir}
    for tree, root in roots.items():
        for file in tree.solution_files(name):
            mine = root / file
            theirs = (mine.read_text() if mine.exists() else "").splitlines()
            reference = tree.solution_text(file, name).splitlines()
            shown = f"{tree.shown}/{file}"
            lines += difflib.unified_diff(
                theirs, reference, f"{shown} (yours)", f"{shown} (reference)", lineterm=""
            )
    if not lines:
        return code(f"# Your files of {name} are the reference already.")
    return code("\n".join(lines), language="diff")
