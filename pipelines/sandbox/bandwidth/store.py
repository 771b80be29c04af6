"""The Bandwidth call list as it reads at a given clock: state changes, paging over days,
filters, malformed records, injected calls and the truth."""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Iterator

import orjson

from pipelines import JSON

from ..data import DAY_MS, DayCache, ceil_div, decoded, parse_rfc3339_us
from ..faults import DEFECTS, BadRecord, DefectTargets, bad_record_entry, broken_field, is_bad, malform
from .records import VENDOR, BandwidthDay, generate_day

# The field each kind of defect breaks in a served record.
DEFECT_TARGETS = DefectTargets("id", "startTime", "chargeableDuration", "abc")
_CACHE_SIZE = 16  # selections kept: a paging client repeats one query with other offsets


class BandwidthStore:
    def __init__(self, seed: int, first_day: int, per_day: float, user_id: str):
        self._seed, self._per_day, self._user_id = seed, per_day, user_id
        self._days: DayCache[BandwidthDay] = DayCache(first_day, self._generate, lambda d: BandwidthDay())
        self._filtered: OrderedDict[tuple[object, ...], list[tuple[BandwidthDay, int]]] = OrderedDict()
        self._lock = threading.Lock()
        self._version = 0

    def _generate(self, day: int) -> BandwidthDay:
        return generate_day(self._seed, day, self._per_day, self._user_id)

    def generate_until(self, now_ms: int) -> int:
        return sum(len(d.ids) for d in self._days.days(self._days.first_day, now_ms // DAY_MS))

    # The list is a concatenation of days; each day contributes the calls started by now.
    def _visible_days(self, now_ms: int) -> list[tuple[BandwidthDay, int]]:
        out = []
        for d in self._days.days(self._days.first_day, now_ms // DAY_MS):
            count = bisect_right(d.start_ms, now_ms)
            if count:
                out.append((d, count))
        return out

    def served(self, day: BandwidthDay, i: int, now_ms: int, bad_rate: float) -> bytes:
        """Call i of `day` as it reads at now_ms: its state moves with the clock."""
        state = self._state(day, i, now_ms)
        bad = is_bad(day.badness[i], bad_rate)
        if state is None and not bad:
            return day.records[i]
        key = (i, state or "", bad)
        found = day.variants.get(key)
        if found is None:
            record = orjson.loads(day.records[i])
            if state is not None:
                record["state"] = state
                record.pop("endTime", None)
                record.pop("chargeableDuration", None)
                if state == "started":
                    record.pop("activeTime", None)
            if bad:
                record, _ = malform(record, DEFECTS[day.defect[i]], DEFECT_TARGETS)
            found = day.variants[key] = orjson.dumps(record)
        return found

    @staticmethod
    def _state(day: BandwidthDay, i: int, now_ms: int) -> str | None:
        """None when the call is final at now_ms, else its in-progress state."""
        if day.end_ms[i] <= now_ms or not day.evolves[i]:
            return None
        active = day.active_ms[i]
        if not active or now_ms < active:
            return "started"
        return "transferring" if day.transferring[i] else "active"

    def page(self, now_ms: int, page: int, size: int, desc: bool, bad_rate: float) -> tuple[list[bytes], int]:
        """Records of one page of the unfiltered list and the list's total length."""
        days = self._visible_days(now_ms)
        total = sum(c for _, c in days)
        lo, hi = page * size, min((page + 1) * size, total)
        if lo >= hi:
            return [], total
        if desc:  # positions in the descending list map onto the ascending one
            lo, hi = total - hi, total - lo
        out: list[bytes] = []
        base = 0
        for day, count in days:
            a, b = max(lo - base, 0), min(hi - base, count)
            if a < b:
                if day.last_end <= now_ms and not bad_rate:
                    out.extend(day.records[a:b])
                else:
                    out.extend(self.served(day, i, now_ms, bad_rate) for i in range(a, b))
            base += count
            if base >= hi:
                break
        if desc:
            out.reverse()
        return out, total

    def matching(
        self, now_ms: int, frm: str | None, to: str | None, bridge: str | None, conference: str | None
    ) -> list[tuple[BandwidthDay, int]]:
        """Calls started by now that pass the filters, ascending by startTime."""
        key = (now_ms, frm, to, bridge, conference, self._version)
        with self._lock:
            hit = self._filtered.get(key)
            if hit is not None:
                return hit
        out = []
        for day, count in self._visible_days(now_ms):
            for i in range(count):
                if (
                    (frm is None or day.from_[i] == frm)
                    and (to is None or day.to[i] == to)
                    and (bridge is None or day.bridge[i] == bridge)
                    and (conference is None or day.conference[i] == conference)
                ):
                    out.append((day, i))
        with self._lock:
            self._filtered[key] = out
            while len(self._filtered) > _CACHE_SIZE:
                self._filtered.popitem(last=False)
        return out

    def find(self, call_id: str, now_ms: int) -> tuple[BandwidthDay, int] | None:
        for day, count in self._visible_days(now_ms):
            if day.index is None:
                day.index = {cid: k for k, cid in enumerate(day.ids)}
            i = day.index.get(call_id)
            if i is not None and i < count:
                return day, i
        return None

    def _between(self, lo_ms: int, hi_ms: int, now_ms: int) -> Iterator[tuple[BandwidthDay, int]]:
        """(day, i) of calls started by now with lo <= startTime < hi, ascending."""
        for day, count in self._visible_days(now_ms):
            if not day.start_ms or day.start_ms[0] >= hi_ms or day.start_ms[count - 1] < lo_ms:
                continue
            for i in range(bisect_left(day.start_ms, lo_ms, 0, count), bisect_left(day.start_ms, hi_ms, 0, count)):
                yield day, i

    def calls(self, start_us: int, end_us: int, now_ms: int, bad_rate: float, include_bad: bool) -> list[dict[str, JSON]]:
        """Truth: calls with start <= startTime < end as served now, ascending; malformed ones
        left out unless include_bad."""
        return [
            decoded(self.served(day, i, now_ms, bad_rate))
            for day, i in self._between(ceil_div(start_us, 1000), ceil_div(end_us, 1000), now_ms)
            if include_bad or not is_bad(day.badness[i], bad_rate)
        ]

    def bad_records(self, start_us: int | None, end_us: int | None, now_ms: int, bad_rate: float) -> list[BadRecord]:
        if bad_rate <= 0:
            return []
        lo = -(2**62) if start_us is None else ceil_div(start_us, 1000)
        hi = 2**62 if end_us is None else ceil_div(end_us, 1000)
        out: list[BadRecord] = []
        for day, i in self._between(lo, hi, now_ms):
            if is_bad(day.badness[i], bad_rate):
                defect = DEFECTS[day.defect[i]]
                served = orjson.loads(self.served(day, i, now_ms, bad_rate))
                out.append(bad_record_entry(VENDOR, day.ids[i], defect, broken_field(defect, DEFECT_TARGETS), served))
        return out

    def add(self, record: dict[str, JSON], served: bytes | None = None) -> str:
        """Inject a constructed call: listed from its startTime exactly as given (its state does
        not move with the clock), never malformed. `served`: the bytes to serve instead of
        `record` (text no JSON encoder writes); `record` then only places it."""
        start_us = _rfc3339_us(record["startTime"])
        if start_us is None:
            raise ValueError("startTime must be ISO-8601 with a zone")
        start_ms, cid = start_us // 1000, str(record["id"])
        end_us = _rfc3339_us(record["endTime"]) if "endTime" in record else None
        day = self._days.get(start_ms // DAY_MS)
        with self._lock:
            i = bisect_right(day.start_ms, start_ms - 1)
            while i < len(day.ids) and day.start_ms[i] == start_ms and day.ids[i] < cid:
                i += 1
            day.start_ms.insert(i, start_ms)
            day.active_ms.insert(i, 0)
            day.end_ms.insert(i, start_ms if end_us is None else end_us // 1000)
            day.ids.insert(i, cid)
            day.from_.insert(i, _text(record.get("from")) or "")
            day.to.insert(i, _text(record.get("to")) or "")
            day.bridge.insert(i, _text(record.get("bridgeId")))
            day.conference.insert(i, _text(record.get("conferenceId")))
            day.transferring.insert(i, 0)
            day.evolves.insert(i, 0)
            day.badness.insert(i, 1.0)
            day.defect.insert(i, 0)
            day.records.insert(i, orjson.dumps(record) if served is None else served)
            day.variants.clear()  # keyed by position, which just shifted
            day.index = None
            self._version += 1
            self._filtered.clear()
        return cid


def _text(value: JSON) -> str | None:
    """A field of an injected call that the filters compare with query text (else matches none)."""
    return value if isinstance(value, str) else None


def _rfc3339_us(value: JSON) -> int | None:
    return parse_rfc3339_us(value) if isinstance(value, str) else None
