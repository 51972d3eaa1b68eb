"""The sensor daemon's sleep between passes, made long while Airflow is quiet and cut short when it is not.

The daemon passes its shutdown event to the sensor loop, which sleeps on it between passes (`wait`). While
no Airflow DAG run has ended lately, that sleep lasts up to `quiet_seconds` instead of a second, and it ends
as soon as Airflow's listener touches the wake file (`tutorial_lib/in_airflow/plugins/`): one look at a file's
time every `poll_seconds` costs next to nothing, where a sensor pass reads Dagster's storage.
"""

from __future__ import annotations

import os
import threading
import time


class WakeableShutdown:
    """Wraps the daemon's shutdown event; only `wait` with a timeout behaves differently."""

    def __init__(
        self,
        event: threading.Event,
        wake_file: str,
        *,
        quiet_seconds: float,
        window_seconds: float,
        poll_seconds: float = 0.2,
    ) -> None:
        self._event = event
        self._wake_file = wake_file
        self._quiet = quiet_seconds
        self._window = window_seconds
        self._poll = poll_seconds

    def _woken_at(self) -> float | None:
        """When Airflow last said a DAG run ended (the wake file's time), or None."""
        try:
            return os.stat(self._wake_file).st_mtime
        except OSError:
            return None

    def is_set(self) -> bool:
        """Whether the daemon is shutting down."""
        return self._event.is_set()

    def set(self) -> None:
        """Shut down (passed through)."""
        self._event.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep like the event, but up to `quiet_seconds` while quiet, waking when the wake file changes."""
        woken = self._woken_at()
        if timeout is None or (woken is not None and time.time() - woken < self._window):
            return self._event.wait(timeout)
        deadline = time.monotonic() + max(timeout, self._quiet)
        while (remaining := deadline - time.monotonic()) > 0:
            if self._event.wait(min(remaining, self._poll)):
                return True
            if self._woken_at() != woken:
                return False
        return self._event.is_set()
