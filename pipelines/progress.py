"""Counting and showing long work: a live line on a terminal, plain log lines otherwise."""
from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, TextIO

from pipelines.windows import Window


@dataclass
class RunStats:
    """What one source did in one command: shown live, in the summary and in the run log."""

    source: str
    windows_total: int = 0
    windows_done: int = 0
    pages: int = 0
    rows: Counter = field(default_factory=Counter)  # warehouse table -> rows extracted
    quarantined: int = 0
    truncated: list[tuple[Window, int]] = field(default_factory=list)
    requests: int = 0
    throttled: int = 0
    retries: int = 0
    notices: list[str] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def request_counter(self, *clients: Any) -> Callable[[], None]:
        """A function that sets the request counts to what earlier loads of this run counted
        plus what these clients (their `.stats`) have counted since: the runner builds a source,
        and so new clients, for every checkpoint of one run."""
        base = (self.requests, self.throttled, self.retries)

        def update() -> None:
            self.requests = base[0] + sum(c.stats.requests for c in clients)
            self.throttled = base[1] + sum(c.stats.throttled for c in clients)
            self.retries = base[2] + sum(c.stats.retries for c in clients)

        return update


class Progress:
    """Prints progress for humans (a rewritten line on a TTY) or for logs (one line per window)."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() and not quiet
        self.quiet = quiet
        self._last_draw = 0.0
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        with self._lock:
            if self.live:
                self.stream.write("\r\033[K")
            self.stream.write(text + "\n")
            self.stream.flush()

    def update(self, stats: RunStats, window: Window | None = None, force: bool = False) -> None:
        if not self.live:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < 0.2:
            return
        self._last_draw = now
        where = f" {window.start.format('YYYY-MM-DD HH:mm')}" if window else ""
        text = (
            f"{stats.source}: window {stats.windows_done}/{stats.windows_total}{where}, "
            f"{stats.pages} pages, {stats.total_rows:,} rows, {stats.requests} requests"
        )
        with self._lock:
            self.stream.write("\r\033[K" + text)
            self.stream.flush()

    def window_done(self, stats: RunStats, window: Window, rows: int) -> None:
        if self.live:
            self.update(stats, window, force=True)
        elif not self.quiet:
            self.line(
                f"{stats.source}: window {stats.windows_done}/{stats.windows_total} {window} "
                f"{rows:,} rows ({stats.pages} pages, {stats.requests} requests so far)"
            )

    def finish_live(self) -> None:
        if self.live:
            with self._lock:
                self.stream.write("\r\033[K")
                self.stream.flush()
