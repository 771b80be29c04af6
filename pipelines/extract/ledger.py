"""Where each source stands, kept in dlt source state so it commits with the data it describes.

State layout (JSON, under `state["sources"][<source>]["callhouse"]`):
    cursor      end of the nightly coverage: the next nightly run re-reads from cursor - lookback
    plans       {"nightly" | "backfill:<start>/<end>": {start, end, done_until, finished, run_id}}
    coverage    merged [start, end) intervals loaded so far, for `callhouse status`
    truncated   windows a vendor capped that could not be split further (Genesys)
    last_run    {kind, run_id, at}

A plan is walked window by window; each finished window moves `done_until` (and, for nightly
plans, the cursor), so a run killed mid-way resumes at the first unfinished window. A backfill
plan never touches the cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, TypedDict, cast

import pendulum

from pipelines import JSON
from pipelines.fetch.windows import Window, iso, merge_intervals, parse_instant, split

STATE_KEY = "callhouse"
# Records a source stopped re-checking (id -> start), kept in its state for `callhouse status` to
# list and `callhouse check` to warn on: any source may keep them (calls still open past a horizon).
STALE_OPEN_CALLS: Final = "stale_open_calls"


class Plan(TypedDict):
    start: str
    end: str
    done_until: str
    finished: bool
    run_id: str


class LastRun(TypedDict):
    kind: str
    run_id: str
    at: str


class LedgerState(TypedDict, total=False):
    """The keys this module keeps (the layout above); a vendor may keep its own beside them."""

    cursor: str
    plans: dict[str, Plan]
    coverage: list[list[str]]
    truncated: list[list[str | int]]  # [start, end, rows]
    last_run: LastRun


@dataclass(frozen=True)
class LoadRequest:
    """What the user asked for: the nightly load up to `end`, or a backfill of [start, end)."""

    kind: Literal["nightly", "backfill"]
    end: pendulum.DateTime
    start: pendulum.DateTime | None = None  # a backfill's
    run_id: str = ""

    @property
    def plan_key(self) -> str:
        return "nightly" if self.kind == "nightly" else f"backfill:{iso(self.backfill_start)}/{iso(self.end)}"

    @property
    def backfill_start(self) -> pendulum.DateTime:
        if self.start is None:
            raise ValueError(f"a backfill to {iso(self.end)} without a start")
        return self.start


class SourceLedger:
    """Read/write view over one source's callhouse state dict."""

    def __init__(self, state: dict[str, JSON]):
        self.state = state  # vendors keep their own keys here too (bandwidth/open_calls.py)
        # The same dict, read as the keys this module keeps.
        self._own = cast(LedgerState, state)
        self._own.setdefault("plans", {})
        self._own.setdefault("coverage", [])

    # -- the nightly cursor ------------------------------------------------------------------
    @property
    def cursor(self) -> pendulum.DateTime | None:
        value = self._own.get("cursor")
        return parse_instant(value) if value else None

    # -- plans -------------------------------------------------------------------------------
    def open_plan(self, request: LoadRequest, nightly_start: pendulum.DateTime) -> Plan:
        """The plan this run works on: resumed if unfinished (or already ours), else new."""
        key = request.plan_key
        plan = self._own["plans"].get(key)
        if plan is not None:
            same_run = plan.get("run_id") == request.run_id
            if request.kind == "backfill" and (not plan["finished"] or same_run):
                plan["run_id"] = request.run_id
                return plan
            if request.kind == "nightly" and same_run:
                return plan
        start = request.backfill_start if request.kind == "backfill" else nightly_start
        end = request.end
        plan = {
            "start": iso(start),
            "end": iso(max(start, end)),
            "done_until": iso(start),
            "finished": False,
            "run_id": request.run_id,
        }
        self._own["plans"][key] = plan
        return plan

    def pending_windows(self, plan: Plan, size: pendulum.Duration) -> list[Window]:
        if plan["finished"]:
            return []
        return split(parse_instant(plan["done_until"]), parse_instant(plan["end"]), size)

    def window_done(self, plan: Plan, window: Window, is_nightly: bool) -> None:
        plan["done_until"] = iso(window.end)
        self._own["coverage"] = merge_intervals(self._own["coverage"] + [[iso(window.start), iso(window.end)]])
        if is_nightly:
            cursor = self.cursor
            if cursor is None or window.end > cursor:
                self._own["cursor"] = iso(window.end)

    def finish(self, plan: Plan, request: LoadRequest) -> None:
        plan["finished"] = True
        if request.kind == "nightly" and self.cursor is None:
            # An empty nightly range still marks where the next run starts.
            self._own["cursor"] = plan["end"]
        self._own["last_run"] = {"kind": request.kind, "run_id": request.run_id, "at": iso(pendulum.now("UTC"))}
        # Keep finished plans only while they can still matter for this run.
        for key in [k for k, p in self._own["plans"].items() if p["finished"] and p is not plan]:
            del self._own["plans"][key]

    def record_truncated(self, window: Window, rows: int) -> None:
        entries = self._own.setdefault("truncated", [])
        entry: list[str | int] = [iso(window.start), iso(window.end), rows]
        if entry not in entries:
            entries.append(entry)


def plan_finished(state: LedgerState, request: LoadRequest) -> bool:
    plan = state.get("plans", {}).get(request.plan_key)
    return bool(plan and plan["finished"] and plan.get("run_id") == request.run_id)


def coverage_until(coverage: list[list[str]], now: datetime) -> list[list[str]]:
    """Coverage up to `now`: a backfill of a future range has loaded nothing past now."""
    clipped = []
    for start, end in coverage:
        if parse_instant(start) >= now:
            continue
        clipped.append([start, end if parse_instant(end) <= now else iso(now)])
    return clipped


def coverage_gaps(coverage: list[list[str]]) -> list[list[str]]:
    """The holes between loaded intervals (what a backfill would fill)."""
    return [[coverage[i][1], coverage[i + 1][0]] for i in range(len(coverage) - 1)]
