"""CINNOX calls as listed at a given clock: window selection, visibility, malformed records,
injected calls and the truth."""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict

import numpy as np
import orjson

from pipelines import JSON

from ..data import DAY_MS, DayCache, ceil_div, decoded, derive_seed, hex_ids, parse_rfc3339_us
from ..faults import BadRecord, DefectTargets, bad_record_entry, is_bad, malformed_copy
from .records import CALL_TYPES, STATUS_NAMES, VENDOR, CinnoxDay, generate_day
from .staff import staff_roster

# The field each kind of defect breaks in a served record.
DEFECT_TARGETS = DefectTargets("id", "callDate", "seq", "abc")
_CACHE_SIZE = 16  # selections kept: a paging client repeats one query with other offsets


class CinnoxStore:
    def __init__(self, seed: int, first_day: int, per_day: float):
        self.staff = staff_roster(seed)
        self.svc_id = "svc-" + hex_ids(np.random.default_rng(derive_seed(seed, VENDOR, "svc")), 1, 8)[0]
        self._seed, self._per_day = seed, per_day
        self._days: DayCache[CinnoxDay] = DayCache(first_day, self._generate, lambda d: CinnoxDay())
        self._selections: OrderedDict[tuple[object, ...], list[bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self._version = 0  # bumped by add(), so cached selections never go stale

    def _generate(self, day: int) -> CinnoxDay:
        return generate_day(self._seed, day, self._per_day, self.staff, self.svc_id)

    def generate_until(self, now_ms: int) -> int:
        return sum(len(d.ids) for d in self._days.days(self._days.first_day, now_ms // DAY_MS))

    def select(
        self,
        lo_ms: int | None,
        hi_ms: int,
        now_ms: int,
        call_type: int | None = None,
        status: int | None = None,
        bad_rate: float = 0.0,
        skip_bad: bool = False,
    ) -> list[bytes]:
        """Serialized calls with lo <= callDate <= hi (ms, inclusive), visible at now, in
        (callDate, id) order. Malformed records are served broken, or left out with skip_bad."""
        lo = self._days.first_day * DAY_MS if lo_ms is None else lo_ms
        hi = min(hi_ms, now_ms)
        if lo > hi:
            return []
        bad_rate = bad_rate if bad_rate > 0 else 0.0
        key = (lo, hi, now_ms, call_type, status, bad_rate, skip_bad, self._version)
        with self._lock:
            hit = self._selections.get(key)
            if hit is not None:
                self._selections.move_to_end(key)
                return hit
        out: list[bytes] = []
        for day in self._days.days(lo // DAY_MS, hi // DAY_MS):
            a, b = bisect_left(day.call_ms, lo), bisect_right(day.call_ms, hi)
            if a >= b:
                continue
            if call_type is None and status is None and not bad_rate and day.last_visible <= now_ms:
                out.extend(day.records[a:b])  # the common case: an old day, no filters
                continue
            for i in range(a, b):
                if day.visible_ms[i] > now_ms:
                    continue
                if (call_type is not None and day.call_type[i] != call_type) or (status is not None and day.status[i] != status):
                    continue
                if bad_rate and day.badness[i] < bad_rate:
                    if not skip_bad:
                        out.append(self._malformed(day, i)[0])
                    continue
                out.append(day.records[i])
        with self._lock:
            self._selections[key] = out
            while len(self._selections) > _CACHE_SIZE:
                self._selections.popitem(last=False)
        return out

    def _malformed(self, day: CinnoxDay, i: int) -> tuple[bytes, str, str]:
        return malformed_copy(day, i, DEFECT_TARGETS)

    def calls(self, start_us: int, end_us: int, now_ms: int, bad_rate: float, include_bad: bool) -> list[dict[str, JSON]]:
        """Truth: calls with start <= callDate < end as served now; malformed ones left out
        unless include_bad (then exactly as served, broken)."""
        rows = self.select(
            ceil_div(start_us, 1000), ceil_div(end_us, 1000) - 1, now_ms, bad_rate=bad_rate, skip_bad=not include_bad
        )
        return [decoded(r) for r in rows]

    def bad_records(self, start_us: int | None, end_us: int | None, now_ms: int, bad_rate: float) -> list[BadRecord]:
        if bad_rate <= 0:
            return []
        lo = self._days.first_day * DAY_MS if start_us is None else ceil_div(start_us, 1000)
        hi = now_ms if end_us is None else min(now_ms, ceil_div(end_us, 1000) - 1)
        out: list[BadRecord] = []
        for day in self._days.days(lo // DAY_MS, hi // DAY_MS):
            for i in range(bisect_left(day.call_ms, lo), bisect_right(day.call_ms, hi)):
                if day.visible_ms[i] <= now_ms and is_bad(day.badness[i], bad_rate):
                    raw, defect, fld = self._malformed(day, i)
                    out.append(bad_record_entry(VENDOR, day.ids[i], defect, fld, orjson.loads(raw)))
        return out

    def add(self, record: dict[str, JSON], served: bytes | None = None) -> str:
        """Inject a constructed call; listed once its callEndTime has passed, never malformed.
        `served`: the bytes to serve instead of `record` (text no JSON encoder writes, such as a
        lone surrogate escape or bytes that are not UTF-8); `record` then only places it."""
        call_us = _rfc3339_us(record["callDate"])
        end_us = _rfc3339_us(record.get("callEndTime", record["callDate"]))
        if call_us is None or end_us is None:
            raise ValueError("callDate and callEndTime must be RFC3339")
        call_ms, end_ms, rid = call_us // 1000, end_us // 1000, str(record["id"])
        day = self._days.get(call_ms // DAY_MS)
        with self._lock:
            i = bisect_left(day.call_ms, call_ms)
            while i < len(day.ids) and day.call_ms[i] == call_ms and day.ids[i] < rid:
                i += 1
            day.call_ms.insert(i, call_ms)
            day.visible_ms.insert(i, end_ms)
            day.ids.insert(i, rid)
            ct = record.get("callType")
            day.call_type.insert(i, CALL_TYPES.index(ct) if ct in CALL_TYPES else 255)
            st = record.get("status")
            day.status.insert(i, STATUS_NAMES.index(st) if st in STATUS_NAMES else 255)
            day.badness.insert(i, 1.0)
            day.defect.insert(i, 0)
            day.records.insert(i, orjson.dumps(record) if served is None else served)
            day.malformed.clear()  # keyed by position, which just shifted
            day.last_visible = max(day.last_visible, end_ms)
            self._version += 1
            self._selections.clear()
        return rid


def _rfc3339_us(value: JSON) -> int | None:
    return parse_rfc3339_us(value) if isinstance(value, str) else None
