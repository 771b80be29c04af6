"""Calls not yet final, kept in source state so nightly runs re-check them, and stop in time.

A Bandwidth call is listed once it starts and changes state afterwards (active -> completed). A
lookback alone misses calls that stay open longer than it, so every call seen open is kept
(`state["open_calls"]`: id -> startTime) until a later read sees it final. A nightly run re-checks
the ones that started before its lookback, whichever way costs fewer requests:

- by id (`GET /calls/{id}`, one request each), or
- by re-reading the list from the oldest one's start (the page index estimates those pages).

A call still open longer than the horizon (`SOURCES__BANDWIDTH__OPEN_CALL_HORIZON`, default 7d)
is no longer re-checked: one call stuck open for a year would otherwise make every nightly run
re-read a year of pages. It moves to `state["stale_open_calls"]`, which `callhouse status` lists
and `callhouse check` counts as a warning; a later read that sees it final removes it.

The decision of a nightly run is kept in `state["open_call_recheck"]` so the later checkpoints of
the same run resume it rather than decide again.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Final, TypedDict, cast

import pendulum
import pyarrow as pa

from pipelines.extract.ledger import STALE_OPEN_CALLS, LoadRequest, SourceLedger
from pipelines.fetch.windows import iso, parse_instant

from .settings import OPEN_STATES

OPEN: Final = "open_calls"
STALE: Final = STALE_OPEN_CALLS
OLDEST_OPEN: Final = "oldest_open_call"  # the oldest start in OPEN (shown by `callhouse status`)
RECHECK: Final = "open_call_recheck"

# (earlier, later) -> the pages a re-read from `earlier` adds to one from `later` (None: no estimate)
PagesBetween = Callable[[datetime, datetime], int | None]


class Recheck(TypedDict):
    run_id: str
    start: str
    ids: list[str]
    done: bool


class OpenCallState(TypedDict, total=False):
    """The keys this module keeps in the source's state (beside the ledger's own)."""

    open_calls: dict[str, str]  # id -> start
    stale_open_calls: dict[str, str]
    oldest_open_call: str
    open_call_recheck: Recheck


class OpenCallWatch:
    def __init__(self, request: LoadRequest, horizon: pendulum.Duration):
        self.request = request
        self.horizon_start = request.end - horizon
        self.state: OpenCallState = {}
        self.to_recheck: list[str] = []  # ids the first window of this nightly run fetches one by one

    def plan(self, ledger: SourceLedger, lookback_start: pendulum.DateTime, pages_between: PagesBetween) -> pendulum.DateTime:
        """Where this run's plan starts: `lookback_start`, or earlier to re-read open calls.

        `pages_between(earlier, later)` estimates the pages a re-read from `earlier` adds to one
        from `later` (None: no estimate)."""
        self.state = cast(OpenCallState, ledger.state)  # the same dict, read as this module's keys
        if self.request.kind != "nightly":
            return lookback_start  # a backfill's range is its own; it only notes what it reads
        decision = self.state.get(RECHECK)
        if decision and decision.get("run_id") == self.request.run_id:
            self.to_recheck = [] if decision["done"] else list(decision["ids"])
            return parse_instant(decision["start"])
        start, ids = self._decide(lookback_start, pages_between)
        self.state[RECHECK] = {"run_id": self.request.run_id, "start": iso(start), "ids": ids, "done": False}
        self.to_recheck = list(ids)
        return start

    def _decide(self, lookback_start: pendulum.DateTime, pages_between: PagesBetween) -> tuple[pendulum.DateTime, list[str]]:
        open_calls = self.state.get(OPEN)
        if open_calls is None:
            # State of a release that kept only the oldest open call's start: re-read from there
            # once (within the horizon); that read fills the map of open calls.
            oldest = _instant(self.state.get(OLDEST_OPEN))
            return (min(lookback_start, max(oldest, self.horizon_start)) if oldest else lookback_start), []
        for call_id, start in list(open_calls.items()):
            if parse_instant(start) < self.horizon_start:
                self.state.setdefault(STALE, {})[call_id] = open_calls.pop(call_id)
        behind = {call_id: parse_instant(start) for call_id, start in open_calls.items() if parse_instant(start) < lookback_start}
        self._set_oldest()
        if not behind:
            return lookback_start, []
        oldest = min(behind.values())
        pages = pages_between(oldest, lookback_start)
        by_pages = math.inf if pages is None else pages
        if len(behind) < by_pages:
            return lookback_start, sorted(behind)
        return oldest, []

    def rechecked(self) -> None:
        """The first window fetched the calls to re-check: later checkpoints of the run do not."""
        decision = self.state.get(RECHECK)
        if decision and decision.get("run_id") == self.request.run_id:
            decision["done"] = True
        self.to_recheck = []

    def forget(self, call_id: str) -> None:
        """A call the vendor no longer knows (404 on re-check)."""
        self.state.get(OPEN, {}).pop(call_id, None)
        self._set_oldest()

    def note(self, calls: pa.Table) -> None:
        """Calls just read (a page's worth, or re-checked ones): open ones kept, final ones dropped."""
        open_calls = self.state.setdefault(OPEN, {})
        stale = self.state.get(STALE, {})
        states = set(OPEN_STATES)
        for call_id, state, start in zip(calls["id"].to_pylist(), calls["state"].to_pylist(), calls["start_time"].to_pylist()):
            if state in states and start is not None:
                target = stale if start < self.horizon_start else open_calls
                target[call_id] = iso(start)
                if target is stale:
                    self.state[STALE] = stale
            else:
                open_calls.pop(call_id, None)
                stale.pop(call_id, None)
        self._set_oldest()

    def _set_oldest(self) -> None:
        starts = [parse_instant(s) for s in self.state.get(OPEN, {}).values()]
        if starts:
            self.state[OLDEST_OPEN] = iso(min(starts))
        else:
            self.state.pop(OLDEST_OPEN, None)


def _instant(value: str | None) -> pendulum.DateTime | None:
    return parse_instant(value) if value else None
