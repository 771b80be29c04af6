"""Counting and showing long work: a live line on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from pipelines.extract.run_stats import RunStats
from pipelines.fetch.windows import Window


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
