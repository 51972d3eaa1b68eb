"""Log excerpts a learner reads: colour codes and the locked versions' start-up warnings left out."""

from __future__ import annotations

from pathlib import Path

from tutorial_lib import log_excerpts

NOISY_LOG = """\
\x1b[32m[2026-12-05T10:00:00.000+0000]\x1b[0m {scheduler_job_runner.py:950} INFO - Starting the scheduler
/venv/lib/python3.11/site-packages/airflow/configuration.py:859 RemovedInAirflow3Warning: a setting moved
  warnings.warn(
/venv/lib/python3.11/site-packages/flask_limiter/extension.py:336 UserWarning: Using the in-memory \
storage for tracking rate limits as no storage was explicitly specified.
  warnings.warn(
[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All communication is in plain text.
\x1b[31mTraceback (most recent call last):\x1b[0m
  File "/venv/lib/python3.11/site-packages/airflow/jobs/job.py", line 12, in run
    return self.execute()
sqlite3.OperationalError: database or disk is full
"""


def test_an_excerpt_has_no_colour_codes_and_no_known_warnings_but_keeps_the_error() -> None:
    cleaned = log_excerpts.clean(NOISY_LOG)
    assert "\x1b" not in cleaned
    assert "Warning" not in cleaned and "warnings.warn" not in cleaned and "TCP" not in cleaned
    assert cleaned.splitlines()[0].endswith("INFO - Starting the scheduler")
    assert "    return self.execute()" in cleaned  # a traceback's source lines are no warning's
    assert cleaned.splitlines()[-1] == "sqlite3.OperationalError: database or disk is full"


def test_tail_counts_only_the_lines_left_after_cleaning(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("\n".join(f"line {i}" for i in range(100)) + "\n" + NOISY_LOG.splitlines()[1] + "\n")
    assert log_excerpts.tail(log, 2) == "line 98\nline 99"
    assert log_excerpts.tail(log, 1, cleaned=False).endswith("RemovedInAirflow3Warning: a setting moved")


def test_tail_of_a_missing_log_says_there_is_none(tmp_path: Path) -> None:
    assert "no log" in log_excerpts.tail(tmp_path / "missing.log")
