"""The learner's files: the reference `dagster_defs/` and DAG file, written into a workspace as starters or
solutions.

The reference marks what a learner writes (see `regions`). A new workspace gets every region as a starter. A
stage's start fills in the regions of earlier stages in files the learner never touched (so that any stage
runs from a fresh workspace); `solve` puts a stage's reference in place when the learner asks for it. A file
the learner changed is never rewritten without a backup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tutorial_lib import regions, stages

REPO = Path(__file__).resolve().parent.parent
REFERENCE_DIR = REPO / "dagster_defs"


def modules_of(stage_or_definitions: str) -> tuple[str, ...]:
    """The definitions modules a name stands for: the one definitions module, or else a stage's own."""
    if stage_or_definitions in stages.definitions_names():
        return (stage_or_definitions,)
    return stages.get(stage_or_definitions).definitions


def _through(stage_or_definitions: str) -> Callable[[str], bool]:
    """Solved: the regions of the named stage (or definitions module) and of everything before it."""
    order = stages.definitions_names()
    last = max(order.index(name) for name in modules_of(stage_or_definitions))
    return lambda region: order.index(region) <= last


@dataclass(frozen=True)
class CatchUp:
    """What a stage's start did to the learner's files."""

    filled: tuple[Path, ...]  # untouched starters of earlier stages, now their reference
    pending: tuple[Path, ...]  # edited files with an earlier stage's TODO still in them


@dataclass(frozen=True)
class Tree:
    """A reference folder of the repository whose files the learner gets a copy of, to write in."""

    reference: Path
    shown: str  # the copy's folder as the learner knows it, from the workspace
    pattern: str  # the files of the folder that are the learner's

    def files(self) -> list[Path]:
        """The reference's files, relative to its folder."""
        return sorted(
            path.relative_to(self.reference)
            for path in self.reference.glob(self.pattern)
            if path.is_file() and "__pycache__" not in path.parts
        )

    def text(self, file: Path) -> str:
        """A reference file's marked text."""
        return (self.reference / file).read_text()

    def rendered(self, file: Path, solved: Callable[[str], bool]) -> str:
        """One reference file with the regions `solved` accepts solved, and the others as starters."""
        return regions.render(self.text(file), solved, source=f"{self.reference.name}/{file}")

    def files_of(self, name: str) -> list[Path]:
        """The files that hold a region of definitions module `name`."""
        return [f for f in self.files() if name in regions.names_in(self.text(f), source=str(f))]

    def solution_files(self, stage_or_definitions: str) -> list[Path]:
        """The files where the learner writes the code of a stage (or definitions module)."""
        names = modules_of(stage_or_definitions)
        return list(dict.fromkeys(f for name in names for f in self.files_of(name)))

    def solution_text(self, file: Path, stage_or_definitions: str) -> str:
        """A file once the named stage (or definitions module) and everything before it is solved."""
        return self.rendered(file, _through(stage_or_definitions))

    def install(self, target: Path, solved: Callable[[str], bool] = lambda region: False) -> None:
        """Write every file of the reference, each region a starter (or solved, as `solved` says)."""
        for file in self.files():
            path = target / file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.rendered(file, solved))

    def catch_up(self, target: Path, stage: str) -> CatchUp:
        """Fill in earlier stages' regions in files still as the workbench wrote them (or missing), so that
        `stage` starts from finished earlier stages; report edited files with an earlier stage's TODO."""
        order = stages.definitions_names()
        first = stages.get(stage).definitions[0]
        wanted_solved = regions.solved_before(first)
        filled, pending = [], []
        for file in self.files():
            path = target / file
            wanted = self.rendered(file, wanted_solved)
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(wanted)
                filled.append(file)
                continue
            current = path.read_text()
            if current == wanted:
                continue
            forms = regions.forms(self.text(file), source=str(file))
            if current in forms and current not in forms[order.index(first) :]:
                path.write_text(wanted)
                filled.append(file)
            elif _earlier_todo(current, order.index(first)):
                pending.append(file)
        return CatchUp(tuple(filled), tuple(pending))

    def unfinished_before(self, target: Path, name: str) -> tuple[str, ...]:
        """Earlier exercises than `name` whose TODO is still in the learner's files: "<file> (<exercise>)"."""
        order = stages.definitions_names()
        found = []
        for earlier in order[: order.index(name)]:
            for file in self.files_of(earlier):
                path = target / file
                if path.exists() and f"# {regions.TODO} ({earlier}):" in path.read_text():
                    found.append(f"{self.shown}/{file} ({earlier})")
        return tuple(found)


def _earlier_todo(text: str, limit: int) -> bool:
    """Whether the text still has a TODO line of a definitions module before index `limit`."""
    return any(f"# {regions.TODO} ({name}):" in text for name in stages.definitions_names()[:limit])


DEFINITIONS = Tree(REFERENCE_DIR, "project/dagster_defs", "**/*")
DAGS = Tree(REPO / "airflow_dags", "dags", "*.py")  # the DAG files; their proxied state is not the learner's
TREES = (DEFINITIONS, DAGS)

# The Dagster project's tree, by its own functions: what most callers want.
files = DEFINITIONS.files
rendered = DEFINITIONS.rendered
files_of = DEFINITIONS.files_of
solution_files = DEFINITIONS.solution_files
solution_text = DEFINITIONS.solution_text
install = DEFINITIONS.install
catch_up = DEFINITIONS.catch_up


def hints(name: str) -> list[tuple[Path, str]]:
    """What the learner writes for definitions module `name`: each region's file and hint."""
    return [
        (file, hint)
        for file in files_of(name)
        for hint in regions.hints(DEFINITIONS.text(file), name, source=str(file))
    ]


def unfinished_before(target: Path, name: str, dags: Path | None = None) -> tuple[str, ...]:
    """Earlier exercises than `name` whose TODO is still in the learner's files (the DAG files too, given
    their folder)."""
    found = DEFINITIONS.unfinished_before(target, name)
    return found + (DAGS.unfinished_before(dags, name) if dags else ())


def shown_files(name: str) -> list[str]:
    """The learner's files of definitions module `name`, as they know them from the workspace."""
    return [f"{tree.shown}/{file}" for tree in TREES for file in tree.files_of(name)]
