"""Compare an executed notebook's outputs with the committed ones, as `pytest --nbval-lax` would, without
executing it again: the cells nbval checks (marker or tag), the same sanitizer, the same output keys."""

from __future__ import annotations

import copy
import difflib
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbval.plugin import coalesce_streams, find_comment_markers, find_metadata_tags, get_sanitize_patterns

SANITIZER = Path(__file__).resolve().parent / "nbval_sanitize.cfg"
# nbval's own list of output keys it never compares (random widget ids, images, counters).
SKIPPED_KEYS = frozenset(
    {
        "metadata",
        "traceback",
        "prompt_number",
        "output_type",
        "name",
        "execution_count",
        "application/vnd.jupyter.widget-view+json",
        "image/png",
        "image/jpeg",
    }
)


@dataclass(frozen=True)
class Mismatch:
    """One checked cell whose executed output differs from the committed one."""

    cell: int  # the code cell's number in the committed notebook, from 1
    source: str
    problem: str

    def __str__(self) -> str:
        first = self.source.strip().splitlines()[0] if self.source.strip() else ""
        return f"code cell {self.cell} ({first[:70]}): {self.problem}"


KEEP_TAG = "keep-output"
# A proof of the learner's code at work: its committed output is the solved run's; an unsolved run skips the
# cell (`%%when_checked`), so nbval, which runs the notebook as a learner gets it, does not compare it.
PROOF_TAG = "proof"
# A learner's exercise or its check: its committed output is the unsolved run's, which nbval compares; a
# solved run (SOLUTIONS=True) prints something else there.
EXERCISE_TAG = "exercise"


def _tags(cell: nbformat.NotebookNode) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def checked(cell: nbformat.NotebookNode, *, lax: bool = True, solved: bool = False) -> bool:
    """Whether this code cell's outputs are compared: as nbval does (lax mode: only cells marked to be
    checked), or, for a run with the exercises solved, the proofs too and not the exercises."""
    options = {"check": not lax, "skip": False}
    options.update(dict(find_comment_markers(cell.source)))
    options.update(dict(find_metadata_tags(cell.get("metadata", {}))))
    nbval = bool(options["check"]) and not options["skip"]
    if not solved:
        return nbval
    return (nbval or PROOF_TAG in _tags(cell)) and EXERCISE_TAG not in _tags(cell)


def kept(cell: nbformat.NotebookNode) -> bool:
    """Whether the committed notebook stores this cell's outputs: checked by nbval or as a proof, or kept for
    reading."""
    return checked(cell) or checked(cell, solved=True) or KEEP_TAG in _tags(cell)


def sanitizer(path: Path = SANITIZER) -> list[tuple[str, str]]:
    """The (regex, replacement) pairs of an nbval sanitizer file."""
    return get_sanitize_patterns(path.read_text())


TEXT_KEYS = ("text", "text/plain", "text/html", "text/markdown", "text/latex", "application/json")


def _sanitized(
    value: object,
    patterns: list[tuple[str, str]],
    replacements: list[tuple[str, str]] | tuple = (),
    afterwards: list[tuple[str, str]] | tuple = (),
) -> object:
    """A text output (a string or nbformat's list of lines) with the literals, then the patterns, then the
    `afterwards` literals replaced; anything else as it is."""
    if isinstance(value, list):
        value = "".join(value)
    if not isinstance(value, str):
        return value
    for old, new in replacements:
        if old:
            value = value.replace(old, new)
    for regex, replace in patterns:
        value = re.sub(regex, replace, value)
    for old, new in afterwards:
        if old:
            value = value.replace(old, new)
    return value


def published(
    outputs: list,
    patterns: list[tuple[str, str]] | None = None,
    literals: dict[str, str] | None = None,
    dates: dict[str, str] | None = None,
) -> list:
    """Outputs as the committed notebook stores them: each `literals` key (a workspace's folder, its password)
    replaced, every text passed through the sanitizer (ports, run ids, times, durations, paths), and then each
    of `dates` replaced (after the sanitizer, which must see a run id's date to replace it whole)."""
    patterns = sanitizer() if patterns is None else patterns
    replacements = sorted((literals or {}).items(), key=lambda item: -len(item[0]))
    afterwards = sorted((dates or {}).items(), key=lambda item: -len(item[0]))

    def clean(value: object) -> object:
        return _sanitized(value, patterns, replacements, afterwards)

    stored = []
    for output in outputs:
        output = copy.deepcopy(output)
        if "text" in output:
            output["text"] = clean(output["text"])
        for mime in TEXT_KEYS:
            if mime in output.get("data", {}):
                output["data"][mime] = clean(output["data"][mime])
        stored.append(output)
    return stored


def _flatten(outputs: list, patterns: list[tuple[str, str]]) -> dict[str, list]:
    """Output values by key (stream name or MIME type), sanitized, in order: nbval's comparison form."""
    flat: dict[str, list] = defaultdict(list)

    def clean(value: object) -> object:
        return _sanitized(value, patterns)

    for output in coalesce_streams([copy.deepcopy(out) for out in outputs]):
        if output.output_type == "stream":
            flat[output.name].append(clean(output.text))
            continue
        for key, value in output.items():
            if key in SKIPPED_KEYS:
                continue
            if key == "data":
                for mime, data in value.items():
                    if mime not in SKIPPED_KEYS:
                        flat[mime].append(clean(data))
            else:
                flat[key].append(clean(value))
    return flat


def compare(
    committed: Path, executed: Path, patterns: list[tuple[str, str]] | None = None, *, solved: bool = False
) -> list[Mismatch]:
    """Every checked cell of `committed` whose outputs in `executed` (a run with the exercises solved, or not)
    differ after sanitizing."""
    patterns = sanitizer() if patterns is None else patterns
    reference = nbformat.read(committed, as_version=4)
    ran = {cell.get("id"): cell for cell in nbformat.read(executed, as_version=4).cells}
    mismatches = []
    code_cells = [cell for cell in reference.cells if cell.cell_type == "code"]
    for number, cell in enumerate(code_cells, start=1):
        if not checked(cell, solved=solved):
            continue
        found = ran.get(cell.get("id"))
        if found is None:
            mismatches.append(Mismatch(number, cell.source, "not in the executed notebook"))
            continue
        problem = _difference(_flatten(cell.outputs, patterns), _flatten(found.outputs, patterns))
        if problem:
            mismatches.append(Mismatch(number, cell.source, problem))
    return mismatches


def _difference(expected: dict[str, list], got: dict[str, list]) -> str | None:
    """What differs between two flattened outputs, as a short unified diff; None when they match."""
    if set(expected) != set(got):
        return f"output kinds differ: committed {sorted(expected)}, executed {sorted(got)}"
    for key in expected:
        if len(expected[key]) != len(got[key]):
            return f"{len(expected[key])} {key} output(s) committed, {len(got[key])} executed"
        for want, have in zip(expected[key], got[key], strict=True):
            if want != have:
                diff = difflib.unified_diff(
                    str(want).splitlines(), str(have).splitlines(), "committed", "executed", lineterm="", n=1
                )
                return f"{key} differs:\n" + "\n".join(list(diff)[:40])
    return None
