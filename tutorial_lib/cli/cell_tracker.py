"""Which cell of a running notebook executes, and since when: a spinner on a terminal, slow cells in a log."""

from __future__ import annotations

import itertools
import threading
import time
from typing import TextIO

SLOW_CELL_SECONDS = 10.0


class CellTracker:
    """Knows which cell of the running notebook executes, and since when; shows it while it waits."""

    def __init__(self, stage: str, out: TextIO, *, live: bool) -> None:
        self.stage, self.out, self.live = stage, out, live
        self.started = time.monotonic()
        self.cell: tuple[int, str, float] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, daemon=True) if live else None

    def __enter__(self) -> CellTracker:
        if self._thread:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
            self.out.write("\r\033[K")
            self.out.flush()

    def cell_started(self, index: int, source: str) -> None:
        """A cell begins: remember it, and report the previous one if it was slow (logs without a TTY)."""
        self._report_slow()
        first = next((line for line in source.splitlines() if line and not line.startswith(("#", "%%"))), "")
        self.cell = (index, first[:60], time.monotonic())

    def finished(self) -> None:
        """The notebook ended: report its last cell if it was slow."""
        self._report_slow()

    def _report_slow(self) -> None:
        if self.live or not self.cell:
            return
        index, line, since = self.cell
        took = time.monotonic() - since
        if took >= SLOW_CELL_SECONDS:
            print(f"[{self.stage}]   cell {index} took {took:.0f} s: {line}", file=self.out, flush=True)

    def _spin(self) -> None:
        for frame in itertools.cycle("|/-\\"):
            if self._stop.wait(0.25):
                return
            total = time.monotonic() - self.started
            now = ""
            if self.cell:
                index, line, since = self.cell
                now = f"  cell {index} ({time.monotonic() - since:.0f} s): {line}"
            self.out.write(f"\r\033[K{frame} [{self.stage}] {total:4.0f} s{now}"[:150])
            self.out.flush()
