"""Genesys SIP messages as served at a given clock: retention, filters, the cap, malformed
records, conversations and the truth."""

from __future__ import annotations

from bisect import bisect_left

import orjson

from pipelines import JSON

from ..data import DAY_MS, DayCache, ceil_div
from ..faults import BadRecord, DefectTargets, bad_record_entry, is_bad, malformed_copy
from .dialogs import VENDOR, Conversation, GenesysDay, generate_day

# The field each kind of defect breaks in a served record.
DEFECT_TARGETS = DefectTargets("id", "date", "milliTs", ["1714569347587"])


class GenesysStore:
    def __init__(self, seed: int, first_day: int, per_day: float):
        self._seed, self._per_day = seed, per_day
        self._days: DayCache[GenesysDay] = DayCache(first_day, self._generate, lambda d: GenesysDay())

    def _generate(self, day: int) -> GenesysDay:
        # A day holds every message dated in it, the tails of the day before's dialogs included
        # (none started before the history), so selecting [lo, hi) needs only the days it touches.
        return generate_day(self._seed, day, self._per_day, previous_day=day > self._days.first_day)

    def generate_until(self, now_ms: int) -> int:
        return sum(len(d.ids) for d in self._days.days(self._days.first_day, now_ms // DAY_MS))

    def select(
        self,
        lo_ms: int,
        hi_ms: int,
        now_ms: int,
        retention_days: float,
        bad_rate: float,
        skip_bad: bool,
        cap: int | None = None,
        callid: str | None = None,
        from_user: str | None = None,
        to_user: str | None = None,
        conversation: str | None = None,
    ) -> list[bytes]:
        """Messages with lo <= date < hi (ms), already sent at now and still retained, in
        (date, id) order; at most `cap` of them."""
        lo = max(lo_ms, now_ms - int(retention_days * DAY_MS))
        hi = min(hi_ms, now_ms + 1)
        out: list[bytes] = []
        if lo >= hi:
            return out
        for day in self._days.days(lo // DAY_MS, (hi - 1) // DAY_MS):
            for i in range(bisect_left(day.date_ms, lo), bisect_left(day.date_ms, hi)):
                if (
                    (callid is not None and day.callid[i] != callid)
                    or (from_user is not None and day.from_user[i] != from_user)
                    or (to_user is not None and day.to_user[i] != to_user)
                    or (conversation is not None and day.conversation[i] != conversation)
                ):
                    continue
                if is_bad(day.badness[i], bad_rate):
                    if skip_bad:
                        continue
                    out.append(self._malformed(day, i)[0])
                else:
                    out.append(day.records[i])
                if cap is not None and len(out) >= cap:
                    return out
        return out

    def _malformed(self, day: GenesysDay, i: int) -> tuple[bytes, str, str]:
        return malformed_copy(day, i, DEFECT_TARGETS)

    def messages(
        self, start_us: int, end_us: int, now_ms: int, retention_days: float, bad_rate: float, include_bad: bool
    ) -> list[dict[str, JSON]]:
        """Truth: messages with start <= date < end as served now (retention applied, no cap)."""
        rows = self.select(
            ceil_div(start_us, 1000), ceil_div(end_us, 1000), now_ms, retention_days, bad_rate, skip_bad=not include_bad
        )
        return [orjson.loads(r) for r in rows]

    def bad_records(
        self, start_us: int | None, end_us: int | None, now_ms: int, retention_days: float, bad_rate: float
    ) -> list[BadRecord]:
        if bad_rate <= 0:
            return []
        lo = self._days.first_day * DAY_MS if start_us is None else ceil_div(start_us, 1000)
        hi = now_ms + 1 if end_us is None else ceil_div(end_us, 1000)
        lo, hi = max(lo, now_ms - int(retention_days * DAY_MS)), min(hi, now_ms + 1)
        out: list[BadRecord] = []
        for day in self._days.days(lo // DAY_MS, (hi - 1) // DAY_MS):
            for i in range(bisect_left(day.date_ms, lo), bisect_left(day.date_ms, hi)):
                if is_bad(day.badness[i], bad_rate):
                    raw, defect, fld = self._malformed(day, i)
                    out.append(bad_record_entry(VENDOR, day.ids[i], defect, fld, orjson.loads(raw)))
        return out

    def conversation(self, conversation_id: str, now_ms: int, retention_days: float) -> Conversation | None:
        """(first message ms, raw INVITE, headers) of a conversation that has started and is
        still retained, else None."""
        lo = now_ms - int(retention_days * DAY_MS)
        for day in self._days.days(lo // DAY_MS, now_ms // DAY_MS):
            found = day.conversations.get(conversation_id)
            if found is not None and lo <= found[0] <= now_ms:
                return found
        return None
