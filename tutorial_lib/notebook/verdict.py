"""A verdict: a short table of checks with what each expected and found, shown in the notebook, and an error
(which fails papermill and nbval) when any check fails."""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


class ProofFailed(AssertionError):
    """A stage's proof found behaviour that differs from what the stage teaches."""


@dataclass(frozen=True)
class Check:
    """One line of a verdict: a claim, what it expects, what was found."""

    claim: str
    expected: Any
    found: Any

    @property
    def ok(self) -> bool:
        """Whether what was found is what the claim expects."""
        return self.found == self.expected


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
        return ", ".join(_show(item) for item in items) if items else "none"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_show(item)}" for key, item in value.items()) or "none"
    return str(value)


@dataclass(frozen=True)
class Verdict:
    """A titled set of checks; displays as a table, text or HTML."""

    title: str
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        """Whether every check holds."""
        return all(check.ok for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        """The checks that do not hold."""
        return [check for check in self.checks if not check.ok]

    @property
    def heading(self) -> str:
        """One line: the title, and whether everything is as it should be."""
        if self.passed:
            return f"✔ {self.title}: as expected"
        return f"✘ {self.title}: {len(self.failures)} of {len(self.checks)} not as expected"

    def __repr__(self) -> str:
        width = max(len(check.claim) for check in self.checks)
        lines = [self.heading]
        for check in self.checks:
            mark = "✔" if check.ok else "✘"
            line = f"  {mark} {check.claim:<{width}}  {_show(check.found)}"
            if not check.ok:
                line += f"  (expected {_show(check.expected)})"
            lines.append(line)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        # The "expected instead" column only when something is not as expected: an empty one reads as noise.
        wrong = not self.passed
        left = "style='text-align:left'"
        rows = "".join(
            f"<tr><td>{'✔' if check.ok else '✘'}</td><td {left}>{html.escape(check.claim)}</td>"
            f"<td {left}>{html.escape(_show(check.found))}</td>"
            + (f"<td {left}>{'' if check.ok else html.escape(_show(check.expected))}</td>" if wrong else "")
            + "</tr>"
            for check in self.checks
        )
        extra = f"<th {left}>expected instead</th>" if wrong else ""
        return (
            f"<p><b>{html.escape(self.heading)}</b></p>"
            f"<table><thead><tr><th></th><th {left}>what you should see</th><th {left}>what is there</th>"
            f"{extra}</tr></thead><tbody>{rows}</tbody></table>"
        )


def prove(title: str, checks: Iterable[Check], *, required: bool = True, hint: str = "") -> None:
    """Show the verdict; raise ProofFailed naming the failed checks, unless not `required` (an exercise not
    solved yet: then the hint is shown instead). Returns nothing, so a notebook shows the table once."""
    verdict = Verdict(title, tuple(checks))
    try:
        from IPython.display import display

        display(verdict)
    except ImportError:  # outside IPython: the text form
        print(repr(verdict))
    if not verdict.passed:
        failed = "; ".join(
            f"{c.claim}: found {_show(c.found)}, expected {_show(c.expected)}" for c in verdict.failures
        )
        if required:
            raise ProofFailed(f"{title}: {failed}")
        print(f"Not solved yet. {hint}".strip())
