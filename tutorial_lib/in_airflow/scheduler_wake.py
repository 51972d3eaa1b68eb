"""The Airflow scheduler sleeps long while idle, and the web server wakes it when a request changes something.

With SQLite, each pass of the scheduler's loop also drives a pass of the DAG processor, and both read the
database: an idle workspace spent ~3% of a core on them at one pass a second. With this, an idle scheduler
passes every `scheduler_idle_sleep_time` (5 s: the workbench sets it to services.environment's
SCHEDULER_QUIET_SECONDS together with the wake file). The web server touches a file after each request that
changes something (a DAG run triggered from the REST API or the UI, a parse requested, a task cleared), and
the scheduler's sleep, which looks at that file's time a few times a second, ends at once: a triggered run
starts sooner than with a fixed one-second sleep.
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from tutorial_lib import env_vars

WAKE_FILE_VAR = env_vars.SCHEDULER_WAKE_FILE  # set by the workbench, with a longer idle sleep
POLL_SECONDS = 0.1
# After a wake, the scheduler passes at each whole second for this long (see WakeableTime.sleep).
AFTER_WAKE_SECONDS = 2.0
# A run triggered or a task cleared (POST), a parse requested (PUT), a DAG (un)paused or a state set (PATCH).
# Not DELETE: deleting runs gives the scheduler nothing to do, and a scheduler woken while a queued run is
# being deleted can fail its own commit of that run (StaleDataError) and stop.
CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH"})

log = logging.getLogger(__name__)


class WakeableTime:
    """The `time` module, except that a long `sleep` ends as soon as the wake file's time changes."""

    def __init__(self, real: ModuleType, wake_file: str, poll_seconds: float = POLL_SECONDS) -> None:
        self._real = real
        self._wake_file = wake_file
        self._poll = poll_seconds
        self._seen = self._woken_at()
        self._woken_wall = 0.0

    def _woken_at(self) -> float | None:
        try:
            return os.stat(self._wake_file).st_mtime
        except OSError:
            return None

    def sleep(self, seconds: float) -> None:
        """Sleep `seconds`, or until someone touches the wake file. A touch since the previous sleep ended
        (while the scheduler was busy with its loop) ends this one at once."""
        now = self._real.time()
        if now - self._woken_wall < AFTER_WAKE_SECONDS:
            # With SQLite, a queued DAG run is eligible once the database's clock, which counts whole seconds,
            # reaches its logical date: pass again just after the next whole second.
            seconds = min(seconds, math.floor(now) + 1.02 - now)
        deadline = self._real.monotonic() + seconds
        while (woken := self._woken_at()) == self._seen:
            remaining = deadline - self._real.monotonic()
            if remaining <= 0:
                return
            self._real.sleep(min(remaining, self._poll))
        self._seen = woken
        self._woken_wall = self._real.time()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def scheduler_module() -> ModuleType | None:
    """Airflow's scheduler module if this process is the scheduler (a backfill command never imports it)."""
    import sys

    return sys.modules.get("airflow.jobs.scheduler_job_runner")


def install_in_scheduler() -> bool:
    """Make the scheduler loop's idle sleep wakeable (it calls `time.sleep` of its module); False if it
    cannot (no wake file set, not the scheduler, or the module looks different): the stock sleep."""
    wake_file = os.environ.get(WAKE_FILE_VAR)
    scheduler_job_runner = scheduler_module()
    if not wake_file or scheduler_job_runner is None:  # not the scheduler (a backfill, say)
        return False

    current = getattr(scheduler_job_runner, "time", None)
    if isinstance(current, WakeableTime):
        return True
    if current is not time:
        log.warning("The scheduler module does not use the time module as expected; its sleep stays stock.")
        return False
    scheduler_job_runner.time = WakeableTime(time, wake_file)  # type: ignore[attr-defined]
    return True


def wake(environ: dict[str, str]) -> None:
    """Wake the scheduler of the Airflow whose environment this is (nothing if it has no wake file)."""
    wake_file = environ.get(WAKE_FILE_VAR)
    if wake_file:
        try:
            Path(wake_file).touch()
        except OSError:
            log.warning(
                "Could not touch %s; the scheduler notices the change within its idle sleep.", wake_file
            )


def wake_on_changes(app: Any) -> bool:
    """Have the Flask `app` touch the wake file after each successful request that changes something."""
    wake_file = os.environ.get(WAKE_FILE_VAR)
    if not wake_file:
        return False
    from flask import request

    def wake_the_scheduler(response: Any) -> Any:
        # The REST API's batch reads (`.../list`) are POSTs too; they change nothing.
        changing = request.method in CHANGING_METHODS and not request.path.endswith("/list")
        if changing and response.status_code < 400:
            wake({WAKE_FILE_VAR: wake_file})
        return response

    app.after_request(wake_the_scheduler)
    return True
