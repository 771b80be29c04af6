"""The start of the oldest call not yet final, kept in source state so nightly runs re-read it.

A Bandwidth call is listed once it starts and changes state afterwards (active -> completed).
A lookback alone misses calls that stay open longer than it, so each nightly run also starts at
the oldest open call, until that call is final.

Invariant kept in `state["oldest_open_call"]` after every committed window: no call in the
warehouse that is open (`started`/`active`/`transferring`) started before it (absent: none is
open). A nightly plan re-reads [start, end) with start at or before that instant, so after its
windows up to `done` the open calls are exactly those it saw open, plus possibly calls at or
after max(previous value, done) that it has not re-read yet. A backfill only ever lowers it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.extract.ledger import LoadRequest, SourceLedger
from pipelines.fetch.windows import Window, iso, parse_instant

from .settings import OPEN_STATES

OLDEST_OPEN = "oldest_open_call"
NIGHTLY_SCAN = "open_call_scan"  # the running nightly plan's view: {run_id, floor, seen}
_OPEN_STATES = pa.array(sorted(OPEN_STATES))


class OpenCallWatch:
    def __init__(self, request: LoadRequest):
        self.request = request
        self.state: dict[str, Any] = {}
        self.window_oldest: datetime | None = None

    def attach(self, ledger: SourceLedger) -> datetime | None:
        """Called when the walk opens its plan; returns where re-reading must start at the latest."""
        self.state = ledger.state
        scan = self.state.get(NIGHTLY_SCAN)
        if self.request.kind == "nightly" and (not scan or scan.get("run_id") != self.request.run_id):
            # A new nightly plan (a resumed one, after a checkpoint of the same run, keeps its scan).
            self.state[NIGHTLY_SCAN] = {"run_id": self.request.run_id, "floor": self.state.get(OLDEST_OPEN), "seen": None}
        return _instant(self.state.get(OLDEST_OPEN))

    def note(self, calls: pa.Table) -> None:
        """Calls of the window being read (one page's worth)."""
        is_open = pc.is_in(calls["state"], value_set=_OPEN_STATES).fill_null(False)
        self.window_oldest = _earliest(self.window_oldest, pc.min(calls.filter(is_open)["start_time"]).as_py())

    def window_read(self, window: Window) -> None:
        """All calls of `window` are read: move the state on, committed with the window's rows."""
        oldest, self.window_oldest = self.window_oldest, None
        if self.request.kind != "nightly":
            self._set(_earliest(_instant(self.state.get(OLDEST_OPEN)), oldest))
            return
        scan = self.state[NIGHTLY_SCAN]
        seen = _earliest(_instant(scan["seen"]), oldest)
        scan["seen"] = iso(seen) if seen else None
        floor = _instant(scan["floor"])
        not_reread_yet = max(floor, window.end) if floor else None
        self._set(_earliest(seen, not_reread_yet))

    def _set(self, value: datetime | None) -> None:
        if value is None:
            self.state.pop(OLDEST_OPEN, None)
        else:
            self.state[OLDEST_OPEN] = iso(value)


def _instant(value: str | None) -> datetime | None:
    return parse_instant(value) if value else None


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
