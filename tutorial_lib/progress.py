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


def _interactive() -> bool:
    if "ipykernel" in sys.modules:
        return True
    return sys.stderr.isatty()


def wait_until(
    probe: Callable[[], T | None],
    *,
    what: str,
    timeout: float,
    interval: float = 0.5,
    show: bool = True,
    describe: Callable[[], str] | None = None,
    on_timeout: Callable[[], str] | None = None,
) -> T:
    """Call probe until it returns something truthy and return that; raise WaitTimeout after timeout seconds.

    probe may raise to abort the wait early (e.g. when the awaited service died).
    describe() adds a short status to the progress line; on_timeout() adds advice to the timeout error.
    """
    started = time.monotonic()
    interactive = show and _interactive()
    last_shown = -1.0
    if show and not interactive:
        print(f"... {what}", file=sys.stderr, flush=True)
    while True:
        result = probe()
        elapsed = time.monotonic() - started
        if result:
            if interactive:
                print(f"\r{' ' * 78}\r", end="", file=sys.stderr, flush=True)
            return result
        if elapsed > timeout:
            if interactive:
                print(file=sys.stderr, flush=True)
            advice = on_timeout() if on_timeout else ""
            raise WaitTimeout(f"Gave up waiting for {what} after {timeout:.0f} s. {advice}".strip())
        if interactive and elapsed - last_shown >= 1.0:
            extra = f" ({describe()})" if describe else ""
            line = f"{SPINNER[int(elapsed) % 4]} {what}: {elapsed:.0f} s{extra}"
            print(f"\r{line[:78]:<78}", end="", file=sys.stderr, flush=True)
            last_shown = elapsed
        time.sleep(interval)
