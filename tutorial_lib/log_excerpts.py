"""Excerpts of the services' logs for a learner to read: no terminal colour codes, and none of the warnings
the locked versions print on every start, which would hide the line that says what went wrong."""

from __future__ import annotations

import os
import re
from pathlib import Path

ANSI_CODES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# Lines that the locked Airflow, Dagster, Flask and Jupyter versions print on a healthy start.
NOISE = re.compile(
    r"RemovedInAirflow3Warning|AirflowProviderDeprecationWarning|DeprecationWarning|FutureWarning"
    r"|RemovedIn20Warning|SAWarning|ExperimentalWarning|PreviewWarning|BetaWarning|SupersessionWarning"
    r"|flask_limiter|Using the in-memory storage for tracking rate limits"
    r"|Kernel is running over TCP without encryption"
)
# What a full disk (or a used-up quota) makes Python, DuckDB and SQLite say.
DISK_FULL = re.compile(r"No space left on device|database or disk is full|Disk quota exceeded", re.IGNORECASE)
DISK_FULL_ADVICE = (
    "The disk is full: free some space on it (`df -h` shows how much is left), then run the cell again. "
    "Nothing you wrote is lost."
)
# A warning's second line, which quotes the source line that warned.
WARNING_SOURCE = re.compile(r"^\s+(warnings\.warn|\w+\s*=|return |from |import |@)")


def clean(text: str) -> str:
    """The text without colour codes, and without known noise (each noisy warning with its source line)."""
    kept: list[str] = []
    after_noise = False
    for line in ANSI_CODES.sub("", text).splitlines():
        if NOISE.search(line):
            after_noise = True
            continue
        if after_noise and WARNING_SOURCE.match(line):
            after_noise = False
            continue
        after_noise = False
        kept.append(line)
    return "\n".join(kept)


def tail(path: Path, lines: int = 20, *, cleaned: bool = True) -> str:
    """The last lines of a log file (cleaned, unless asked for as written), or a note that there is none."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64_000))
            text = handle.read().decode(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join((clean(text) if cleaned else text).splitlines()[-lines:])
