"""Solution regions: one reference source makes both the learner's starter and the solution.

A file of the reference project (`dagster_defs/`) marks what a learner writes in a stage:

    # >>> observe: Map each task to the assets it writes.
    # ... (more lines of the hint, if needed)
    <the reference code>
    # --- starter
    # <the starter code, commented out, so that the reference file still runs>
    # <<<

The starter form of the file has `# TODO (observe): <hint>` and the starter code in place of the region; the
solution form has the reference code alone. Both are valid code; `tests/test_regions.py` proves it for every
file. A region names the definitions module (`stages.DEFINITIONS`) whose exercise it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tutorial_lib import stages
from tutorial_lib.errors import LearnerError

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# >>> (?P<name>\w+): (?P<hint>.+)$")
MORE_HINT = re.compile(r"^[ \t]*# \.\.\. (?P<hint>.+)$")
STARTER = re.compile(r"^[ \t]*# --- starter$")
END = re.compile(r"^[ \t]*# <<<$")
TODO = "TODO"


class RegionError(LearnerError, ValueError):
    """A reference file's solution markers do not nest or close, or name an unknown definitions module."""


@dataclass(frozen=True)
class Region:
    """One place where a learner writes code: whose exercise, the hint, the reference and the starter."""

    name: str  # the definitions module whose exercise this is
    hint_lines: tuple[str, ...]
    indent: str
    solution: tuple[str, ...]
    starter: tuple[str, ...]

    @property
    def hint(self) -> str:
        """The hint as one line of prose."""
        return " ".join(self.hint_lines)

    def starter_lines(self) -> list[str]:
        """The lines the learner finds: the TODO and its hint, then the starter code."""
        first, *more = self.hint_lines
        todo = [
            f"{self.indent}# {TODO} ({self.name}): {first}",
            *(f"{self.indent}#   {line}" for line in more),
        ]
        return [*todo, *self.starter]


Part = str | Region


def parse(text: str, *, source: str = "<text>") -> list[Part]:
    """The file as plain lines and regions, in order."""
    known = set(stages.definitions_names())
    parts: list[Part] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        begin = BEGIN.match(lines[index])
        if not begin:
            if STARTER.match(lines[index]) or END.match(lines[index]):
                raise RegionError(f"{source}, line {index + 1}: a marker outside a region.")
            parts.append(lines[index])
            index += 1
            continue
        start = index + 1
        if begin["name"] not in known:
            raise RegionError(f"{source}, line {start}: {begin['name']!r} is not a definitions module.")
        hint = [begin["hint"]]
        index += 1
        while index < len(lines) and (more := MORE_HINT.match(lines[index])):
            hint.append(more["hint"])
            index += 1
        solution: list[str] = []
        starter: list[str] | None = None
        indent = begin["indent"]
        while True:
            if index >= len(lines):
                raise RegionError(f"{source}, line {start}: the region is not closed with `# <<<`.")
            line = lines[index]
            index += 1
            if BEGIN.match(line):
                raise RegionError(f"{source}, line {index}: regions do not nest.")
            if END.match(line):
                break
            if STARTER.match(line):
                starter = []
            elif starter is None:
                solution.append(line)
            else:
                starter.append(_uncomment(line, indent, source, index))
        parts.append(Region(begin["name"], tuple(hint), indent, tuple(solution), tuple(starter or ())))
    return parts


def _uncomment(line: str, indent: str, source: str, number: int) -> str:
    """A starter line as written in the starter: the `# ` after the region's indent removed."""
    if line.strip() == "#":
        return ""
    if not line.startswith(indent + "# "):
        raise RegionError(f"{source}, line {number}: a starter line must start with `{indent}# `.")
    return indent + line[len(indent) + 2 :]


def render(text: str, solved: Callable[[str], bool], *, source: str = "<text>") -> str:
    """The file with each region solved (reference code) or not (TODO and starter code)."""
    lines: list[str] = []
    for part in parse(text, source=source):
        if isinstance(part, str):
            lines.append(part)
        elif solved(part.name):
            lines.extend(part.solution)
        else:
            lines.extend(part.starter_lines())
    return "\n".join(lines) + ("\n" if text.endswith("\n") else "")


def names_in(text: str, *, source: str = "<text>") -> list[str]:
    """The definitions modules with a region in the file, in order, once each."""
    return list(dict.fromkeys(p.name for p in parse(text, source=source) if isinstance(p, Region)))


def solved_before(name: str | None) -> Callable[[str], bool]:
    """Solved: the regions of definitions modules before `name` in the registry (None: all of them)."""
    order = stages.definitions_names()
    if name is None:
        return lambda region: True
    limit = order.index(name)
    return lambda region: order.index(region) < limit


def solved_through(name: str) -> Callable[[str], bool]:
    """Solved: the regions of `name` and of every definitions module before it."""
    order = stages.definitions_names()
    limit = order.index(name)
    return lambda region: order.index(region) <= limit


def forms(text: str, *, source: str = "<text>") -> list[str]:
    """Every form the workbench can have written: k definitions modules solved, for k = 0 .. all."""
    order = stages.definitions_names()
    return [
        render(text, lambda region, k=k: order.index(region) < k, source=source)
        for k in range(len(order) + 1)
    ]


def hints(text: str, name: str, *, source: str = "<text>") -> list[str]:
    """The hints of the regions that belong to `name`."""
    return [p.hint for p in parse(text, source=source) if isinstance(p, Region) and p.name == name]


def regions_of(texts: Iterable[tuple[str, str]], name: str) -> list[str]:
    """The files (of (path, text) pairs) that hold a region of `name`."""
    return [path for path, text in texts if name in names_in(text, source=path)]
