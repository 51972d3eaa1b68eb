"""Poll until something is true, showing a one-line progress indicator while waiting."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
SPINNER = "|/-\\"


class WaitTimeout(TimeoutError):
    """A wait ran past its deadline."""


# Marks a progress line's output in a notebook, so that stored notebooks can leave it out (it holds times).
PROGRESS_METADATA = {"airlift-tutorial/progress": True}


class _Line:
    """A one-line status: updated in place in a notebook (one display), with \\r on a terminal."""

    def __init__(self, show: bool) -> None:
        self.handle = None
        self.terminal = False
        if not show:
            return
        if "ipykernel" in sys.modules:
            from IPython.display import display

            self.handle = display({"text/plain": ""}, metadata=PROGRESS_METADATA, raw=True, display_id=True)
        else:
            self.terminal = sys.stderr.isatty()

    def update(self, text: str) -> None:
        if self.handle is not None:
            self.handle.update({"text/plain": text}, metadata=PROGRESS_METADATA, raw=True)
        elif self.terminal:
            print(f"\r{text[:78]:<78}", end="", file=sys.stderr, flush=True)

    def close(self, text: str) -> None:
        if self.handle is not None:
            self.handle.update({"text/plain": text}, metadata=PROGRESS_METADATA, raw=True)
        elif self.terminal:
            print(f"\r{text[:78]:<78}", file=sys.stderr, flush=True)


# How long a failed probe waits for a service that lost a process to be seen stopped, before its own error
# is raised instead.
STOPPING_SECONDS = 3.0


def wait_until(
    probe: Callable[[], T | None],
    *,
    what: str,
    timeout: float,
    interval: float = 0.5,
    show: bool = True,
    describe: Callable[[], str] | None = None,
    on_timeout: Callable[[], str] | None = None,
    alive: Callable[[], None] | None = None,
) -> T:
    """Call probe until it returns something truthy and return that; raise WaitTimeout after timeout seconds.

    probe may raise to abort the wait early (e.g. when the awaited service died).
    describe() adds a short status to the progress line; on_timeout() adds advice to the timeout error.
    alive() raises when a service the wait depends on has stopped: it is asked before each probe, and when
    a probe fails (a stopped service explains a refused connection better than the connection error).
    """
    started = time.monotonic()
    line = _Line(show)
    if show and line.handle is None and not line.terminal:
        print(f"... {what}", file=sys.stderr, flush=True)
    last_shown = -1.0
    while True:
        if alive is not None:
            alive()
        try:
            result = probe()
        except Exception as exc:
            if alive is not None:
                # One process of a service gone takes the rest of the service down with it a moment later: a
                # refused or broken connection (requests' errors are OSErrors) waits to see if that is why.
                unreachable = isinstance(exc, OSError) or isinstance(exc.__cause__, OSError)
                deadline = time.monotonic() + (STOPPING_SECONDS if unreachable else 0.0)
                while True:
                    alive()
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
            raise
        elapsed = time.monotonic() - started
        if result:
            line.close(f"done: {what} ({elapsed:.0f} s)")
            return result
        if elapsed > timeout:
            line.close(f"gave up: {what} ({elapsed:.0f} s)")
            advice = on_timeout() if on_timeout else ""
            raise WaitTimeout(f"Gave up waiting for {what} after {timeout:.0f} s. {advice}".strip())
        if elapsed - last_shown >= 1.0:
            extra = f" ({describe()})" if describe else ""
            line.update(f"{SPINNER[int(elapsed) % 4]} waiting for {what}: {elapsed:.0f} s{extra}")
            last_shown = elapsed
        time.sleep(interval)
