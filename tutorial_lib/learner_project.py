"""The learner's project: the reference `dagster_defs/`, written into a workspace as starters or solutions.

The reference marks what a learner writes (see `regions`). A new project gets every region as a starter. A
stage's start fills in the regions of earlier stages in files the learner never touched (so that any stage
runs from a fresh workspace); `solve` puts a stage's reference in place when the learner asks for it. A file
the learner changed is never rewritten without a backup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tutorial_lib import regions, stages

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "dagster_defs"


def files() -> list[Path]:
    """The reference project's files, relative to `dagster_defs/`."""
    return sorted(
        path.relative_to(REFERENCE_DIR)
        for path in REFERENCE_DIR.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )


def _text(file: Path) -> str:
    return (REFERENCE_DIR / file).read_text()


def rendered(file: Path, solved: Callable[[str], bool]) -> str:
    """One reference file with the regions `solved` accepts solved, and the others as starters."""
    return regions.render(_text(file), solved, source=f"dagster_defs/{file}")


def files_of(name: str) -> list[Path]:
    """The files that hold a region of definitions module `name`: where the learner writes its code."""
    return [file for file in files() if name in regions.names_in(_text(file), source=str(file))]


def hints(name: str) -> list[tuple[Path, str]]:
    """What the learner writes for definitions module `name`: each region's file and hint."""
    return [
        (file, hint) for file in files_of(name) for hint in regions.hints(_text(file), name, source=str(file))
    ]


def modules_of(stage_or_definitions: str) -> tuple[str, ...]:
    """The definitions modules a name stands for: the one definitions module, or else a stage's own."""
    if stage_or_definitions in stages.definitions_names():
        return (stage_or_definitions,)
    return stages.get(stage_or_definitions).definitions


def solution_files(stage_or_definitions: str) -> list[Path]:
    """The files where the learner writes the code of a stage (or definitions module)."""
    return list(dict.fromkeys(f for name in modules_of(stage_or_definitions) for f in files_of(name)))


def solution_text(file: Path, stage_or_definitions: str) -> str:
    """A file as it is once the named stage (or definitions module) and everything before it is solved."""
    order = stages.definitions_names()
    last = max(order.index(name) for name in modules_of(stage_or_definitions))
    return rendered(file, lambda region: order.index(region) <= last)


def install(target: Path, solved: Callable[[str], bool] = lambda region: False) -> None:
    """Write a project: every file of the reference, each region a starter (or solved, as `solved` says)."""
    for file in files():
        path = target / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered(file, solved))


@dataclass(frozen=True)
class CatchUp:
    """What a stage's start did to the learner's project."""

    filled: tuple[Path, ...]  # untouched starters of earlier stages, now their reference
    pending: tuple[Path, ...]  # edited files with an earlier stage's TODO still in them


def catch_up(target: Path, stage: str) -> CatchUp:
    """Fill in earlier stages' regions in files that are still as the workbench wrote them, so that `stage`
    starts from finished earlier stages; report edited files that still hold an earlier stage's TODO."""
    first = stages.get(stage).definitions[0]
    wanted_solved = regions.solved_before(first)
    filled, pending = [], []
    for file in files():
        path = target / file
        text = _text(file)
        wanted = rendered(file, wanted_solved)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(wanted)
            filled.append(file)
            continue
        current = path.read_text()
        if current == wanted:
            continue
        forms = regions.forms(text, source=str(file))
        order = stages.definitions_names()
        at_or_after = forms[order.index(first) :]
        if current in forms and current not in at_or_after:
            path.write_text(wanted)
            filled.append(file)
        elif _earlier_todo(current, order.index(first)):
            pending.append(file)
    return CatchUp(tuple(filled), tuple(pending))


def _earlier_todo(text: str, limit: int) -> bool:
    """Whether the text still has a TODO line of a definitions module before index `limit`."""
    earlier = stages.definitions_names()[:limit]
    return any(f"# {regions.TODO} ({name}):" in text for name in earlier)


def unfinished_before(target: Path, name: str) -> tuple[str, ...]:
    """Earlier exercises than `name` whose TODO is still in the learner's files, as "<file> (<exercise>)"."""
    order = stages.definitions_names()
    found = []
    for earlier in order[: order.index(name)]:
        for file in files_of(earlier):
            path = target / file
            if path.exists() and f"# {regions.TODO} ({earlier}):" in path.read_text():
                found.append(f"project/dagster_defs/{file} ({earlier})")
    return tuple(found)
