"""Bandwidth (Catapult v1) calls: generated call records and `GET /v1/users/{userId}/calls/`.

Quirks served on purpose (see vendor-apis.md section 2):
- No date filter: the whole history, sorted by startTime (desc by default), paged by page/size;
  the next page comes only in the `Link` header, and `rel="next"` only while records remain.
- A call is listed from its start; while the clock is before its end it is `started`
  (ringing), `active` or `transferring`, without endTime/chargeableDuration. Once the clock
  passes its end the same call reads `completed` (or `rejected`).
- Timestamps are ISO-8601 with milliseconds on most calls and without on some.
- `sipHeaders` (on ~30% of calls) hold awkward values: `=`, `;`, `,`, quotes, spaces, non-ASCII.
- Absent values are left out, never null.
- 429 has no Retry-After; `X-RateLimit-Reset` is the epoch time in MILLISECONDS when a request
  is allowed again.
- With `bridgeId` or `conferenceId`, paging does not apply: every matching call in one reply.
[U] chosen here: 401 body category `unauthorized`; single calls at `.../calls/{callId}`.
"""

from __future__ import annotations

import base64
import math
import re
import threading
import time
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from dataclasses import dataclass, field
from urllib.parse import urlencode

import numpy as np
import orjson

from .data import (
    DAY_MS,
    HOUR_MS,
    DayCache,
    base32_ids,
    ceil_div,
    compact,
    day_rng,
    gc_paused,
    iso_ms,
    iso_s,
    parse_rfc3339_us,
    sample_start_times,
)
from .faults import DEFECTS, DefectTargets, bad_record_entry, broken_field, is_bad, malform
from .runtime import Runtime
from .wire import Reply, Request

VENDOR = "bandwidth"
TZ_OFFSET_H = -5  # US Eastern office hours
PUBLIC_HOST = "https://api.catapult.inetwork.com"  # in `events` URLs, so bodies do not depend on our port
DEFAULT_SIZE, MAX_SIZE = 25, 1000
REJECTED_SHARE = 0.12
TRANSFERRING_SHARE = 0.08

DEFECT_TARGETS = DefectTargets("id", "startTime", "chargeableDuration", "abc")

ACCOUNT_NUMBERS = ("+19195550100", "+19195550101", "+19195550102", "+19195550117", "+19845550142", "+17045550199")
_SIP_USERS = ("sip:frontdesk@callhouse.bwapp.bandwidth.com", "sip:agent-07@callhouse.bwapp.bandwidth.com",
              "sip:ivr@callhouse.bwapp.bandwidth.com", "sip:+19195550100@sip.carrier.example.net")
# Values a real integration puts in X- headers, chosen for what breaks naive parsers.
_HEADER_VALUES = {
    "X-Customer-Id": ("cust-000{n}", "C{n};tier=gold", "42"),
    "X-Campaign": ("spring=sale;ch=email", "Summer, 2024", 'name="Black Friday"; id={n}'),
    "X-Origin-City": ("Zürich", "東京", "São Paulo, BR", "Kraków"),
    "X-Route": ("a=b=c", "queue=support; skill=billing, lang=de", "primary;fallback=voicemail"),
    "X-Note": ('caller said "call me back"', "  leading and trailing spaces  ", "x" * 256),
    "X-Tracking": ("utm_source=google&utm_medium=cpc", "id=abc,def;v=1", "trace-{n}"),
    "X-Account-Ref": ("ACC/{n}/2024", "ref: {n}", "Ünïcödé ref {n}"),
}
_HEADER_NAMES = tuple(_HEADER_VALUES)


@dataclass
class BandwidthDay:
    """One UTC day's calls sorted by (startTime, id); `records` hold each call's final state."""

    start_ms: array = field(default_factory=lambda: array("q"))
    active_ms: array = field(default_factory=lambda: array("q"))  # 0 = never answered
    end_ms: array = field(default_factory=lambda: array("q"))
    ids: list[str] = field(default_factory=list)
    from_: list[str] = field(default_factory=list)
    to: list[str] = field(default_factory=list)
    bridge: list[str | None] = field(default_factory=list)
    conference: list[str | None] = field(default_factory=list)
    transferring: bytearray = field(default_factory=bytearray)
    evolves: bytearray = field(default_factory=bytearray)  # 0 for injected calls, served as given
    badness: array = field(default_factory=lambda: array("d"))
    defect: bytearray = field(default_factory=bytearray)
    records: list[bytes] = field(default_factory=list)
    last_end: int = 0  # once the clock passes this, every call of the day is final
    variants: dict[tuple[int, str, bool], bytes] = field(default_factory=dict)  # (i, state, bad) -> bytes
    index: dict[str, int] | None = None  # id -> position, built on first lookup


def _external_number(u: float, v: float, w: float) -> str:
    return f"+1{201 + int(u * 780)}{200 + int(v * 799)}{int(w * 10_000):04d}"


def _sip_headers(u: list[float], n: int) -> dict[str, str]:
    count = 1 + int(u[0] * 5)
    picked = []
    k = int(u[1] * len(_HEADER_NAMES))
    while len(picked) < count:
        name = _HEADER_NAMES[k % len(_HEADER_NAMES)]
        if name not in picked:
            picked.append(name)
        k += 1 + int(u[2] * 3)
    out = {}
    for j, name in enumerate(picked):
        options = _HEADER_VALUES[name]
        out[name] = options[int(u[3 + j] * len(options))].replace("{n}", str(n % 100_000))
    return out


def generate_day(seed: int, day: int, per_day: float, user_id: str) -> BandwidthDay:
    with gc_paused():
        return _generate_day(seed, day, per_day, user_id)


def _generate_day(seed: int, day: int, per_day: float, user_id: str) -> BandwidthDay:
    rng = day_rng(seed, VENDOR, day)
    starts = sample_start_times(rng, day, per_day, TZ_OFFSET_H).tolist()
    n = len(starts)
    ring = rng.integers(2_000, 30_000, size=n).tolist()
    # Median two minutes, a long tail up to four hours: some calls are still up at "now".
    talk = np.clip(np.exp(rng.normal(math.log(120_000), 1.3, size=n)), 1_000, 4 * HOUR_MS).astype(np.int64).tolist()
    u = rng.random((n, 16)).tolist()
    header_u = rng.random((n, 8)).tolist()
    ids = base32_ids(rng, n, 23)
    group_ids = base32_ids(rng, n, 20)
    badness = rng.random(n).tolist()
    defect = rng.integers(0, len(DEFECTS), size=n).tolist()

    # Bridges join two legs, conferences three; both are consecutive calls of the day.
    bridge: list[str | None] = [None] * n
    conference: list[str | None] = [None] * n
    i = 0
    while i < n - 2:
        if u[i][13] < 0.05:
            bridge[i] = bridge[i + 1] = f"brg-{group_ids[i]}"
            i += 2
        elif u[i][13] < 0.07:
            conference[i] = conference[i + 1] = conference[i + 2] = f"conf-{group_ids[i]}"
            i += 3
        else:
            i += 1

    rows = []
    for i in range(n):
        ui = u[i]
        with_ms = ui[0] < 0.7
        fmt = iso_ms if with_ms else iso_s
        t0 = starts[i] if with_ms else starts[i] // 1000 * 1000
        rejected = ui[1] < REJECTED_SHARE
        if rejected:
            active, end = 0, t0 + ring[i]
        else:
            active = t0 + ring[i]
            end = active + talk[i]
        if not with_ms:
            active, end = active // 1000 * 1000, end // 1000 * 1000
        inbound = ui[2] < 0.55
        ours = ACCOUNT_NUMBERS[int(ui[3] * len(ACCOUNT_NUMBERS))]
        theirs = _SIP_USERS[int(ui[5] * len(_SIP_USERS))] if ui[4] < 0.05 else _external_number(ui[5], ui[6], ui[12])
        frm, to = (theirs, ours) if inbound else (ours, theirs)
        cid = "c-" + ids[i]
        record: dict = {"id": cid, "direction": "in" if inbound else "out", "from": frm, "to": to}
        recording = ui[7] < 0.25
        record["recordingEnabled"] = recording
        if recording:
            record["recordingFileFormat"] = "mp3" if ui[8] < 0.3 else "wav"
        record["transcriptionEnabled"] = recording and ui[8] > 0.6
        if ui[9] < 0.8:
            record["callbackUrl"] = "https://callhouse.example.com/bandwidth/callbacks"
            record["callbackHttpMethod"] = "GET" if ui[10] < 0.1 else "POST"
            record["callbackTimeout"] = 15000
            if ui[10] > 0.7:
                record["fallbackUrl"] = "https://fallback.callhouse.example.com/bandwidth/callbacks"
        else:
            record["callbackUrl"] = ""
        if bridge[i]:
            record["bridgeId"] = bridge[i]
        if conference[i]:
            record["conferenceId"] = conference[i]
        record["state"] = "rejected" if rejected else "completed"
        record["startTime"] = fmt(t0)
        if not rejected:
            record["activeTime"] = fmt(active)
        record["endTime"] = fmt(end)
        record["chargeableDuration"] = 0 if rejected else max(60, ceil_div(end - active, 60_000) * 60)
        record["events"] = f"{PUBLIC_HOST}/v1/users/{user_id}/calls/{cid}/events"
        if ui[11] < 0.3:
            record["sipHeaders"] = _sip_headers(header_u[i], i)
        rows.append((t0, cid, active, end, frm, to, bridge[i], conference[i], ui[14] < TRANSFERRING_SHARE,
                     badness[i], defect[i], compact(orjson.dumps(record))))

    rows.sort(key=lambda r: (r[0], r[1]))
    out = BandwidthDay()
    out.start_ms = array("q", [r[0] for r in rows])
    out.ids = [r[1] for r in rows]
    out.active_ms = array("q", [r[2] for r in rows])
    out.end_ms = array("q", [r[3] for r in rows])
    out.from_ = [r[4] for r in rows]
    out.to = [r[5] for r in rows]
    out.bridge = [r[6] for r in rows]
    out.conference = [r[7] for r in rows]
    out.transferring = bytearray(r[8] for r in rows)
    out.evolves = bytearray(b"\x01" * n)
    out.badness = array("d", [r[9] for r in rows])
    out.defect = bytearray(r[10] for r in rows)
    out.records = [r[11] for r in rows]
    out.last_end = max(out.end_ms) if n else 0
    return out


# --- the store: the call list as it reads at a given clock ------------------------------------

_CACHE_SIZE = 16


class BandwidthStore:
    def __init__(self, seed: int, first_day: int, per_day: float, user_id: str):
        self._seed, self._per_day, self._user_id = seed, per_day, user_id
        self._days: DayCache[BandwidthDay] = DayCache(first_day, self._generate, lambda d: BandwidthDay())
        self._filtered: OrderedDict[tuple, list[tuple[BandwidthDay, int]]] = OrderedDict()
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

    def count(self, now_ms: int) -> int:
        return sum(c for _, c in self._visible_days(now_ms))

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

    def matching(self, now_ms: int, frm: str | None, to: str | None, bridge: str | None,
                 conference: str | None) -> list[tuple[BandwidthDay, int]]:
        """Calls started by now that pass the filters, ascending by startTime."""
        key = (now_ms, frm, to, bridge, conference, self._version)
        with self._lock:
            hit = self._filtered.get(key)
            if hit is not None:
                return hit
        out = []
        for day, count in self._visible_days(now_ms):
            for i in range(count):
                if ((frm is None or day.from_[i] == frm) and (to is None or day.to[i] == to)
                        and (bridge is None or day.bridge[i] == bridge)
                        and (conference is None or day.conference[i] == conference)):
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

    def _between(self, lo_ms: int, hi_ms: int, now_ms: int):
        """(day, i) of calls started by now with lo <= startTime < hi, ascending."""
        for day, count in self._visible_days(now_ms):
            if not day.start_ms or day.start_ms[0] >= hi_ms or day.start_ms[count - 1] < lo_ms:
                continue
            for i in range(bisect_left(day.start_ms, lo_ms, 0, count), bisect_left(day.start_ms, hi_ms, 0, count)):
                yield day, i

    def calls(self, start_us: int, end_us: int, now_ms: int, bad_rate: float, include_bad: bool) -> list[dict]:
        """Truth: calls with start <= startTime < end as served now, ascending; malformed ones
        left out unless include_bad."""
        return [orjson.loads(self.served(day, i, now_ms, bad_rate))
                for day, i in self._between(ceil_div(start_us, 1000), ceil_div(end_us, 1000), now_ms)
                if include_bad or not is_bad(day.badness[i], bad_rate)]

    def bad_records(self, start_us: int | None, end_us: int | None, now_ms: int, bad_rate: float) -> list[dict]:
        if bad_rate <= 0:
            return []
        lo = -(2**62) if start_us is None else ceil_div(start_us, 1000)
        hi = 2**62 if end_us is None else ceil_div(end_us, 1000)
        out = []
        for day, i in self._between(lo, hi, now_ms):
            if is_bad(day.badness[i], bad_rate):
                defect = DEFECTS[day.defect[i]]
                served = orjson.loads(self.served(day, i, now_ms, bad_rate))
                out.append(bad_record_entry(VENDOR, day.ids[i], defect, broken_field(defect, DEFECT_TARGETS), served))
        return out

    def add(self, record: dict) -> str:
        """Inject a constructed call: listed from its startTime exactly as given (its state does
        not move with the clock), never malformed."""
        start_us = parse_rfc3339_us(record["startTime"])
        if start_us is None:
            raise ValueError("startTime must be ISO-8601 with a zone")
        start_ms, cid = start_us // 1000, str(record["id"])
        end_us = parse_rfc3339_us(record["endTime"]) if "endTime" in record else None
        day = self._days.get(start_ms // DAY_MS)
        with self._lock:
            i = bisect_right(day.start_ms, start_ms - 1)
            while i < len(day.ids) and day.start_ms[i] == start_ms and day.ids[i] < cid:
                i += 1
            day.start_ms.insert(i, start_ms)
            day.active_ms.insert(i, 0)
            day.end_ms.insert(i, start_ms if end_us is None else end_us // 1000)
            day.ids.insert(i, cid)
            day.from_.insert(i, record.get("from", ""))
            day.to.insert(i, record.get("to", ""))
            day.bridge.insert(i, record.get("bridgeId"))
            day.conference.insert(i, record.get("conferenceId"))
            day.transferring.insert(i, 0)
            day.evolves.insert(i, 0)
            day.badness.insert(i, 1.0)
            day.defect.insert(i, 0)
            day.records.insert(i, orjson.dumps(record))
            day.variants.clear()  # keyed by position, which just shifted
            day.index = None
            self._version += 1
            self._filtered.clear()
        return cid


# --- the endpoint -----------------------------------------------------------------------------

_LIST = re.compile(r"^/v1/users/([^/]+)/calls/?$")
_ONE = re.compile(r"^/v1/users/([^/]+)/calls/([^/]+)/?$")


def error(status: int, category: str, code: str, message: str, details: list[dict] | None = None,
          headers: list[tuple[str, str]] | None = None) -> Reply:
    return Reply.json(status, {"category": category, "code": code, "message": message, "details": details or []},
                      headers)


def rate_limited(wait_s: float, per_second: float | None = 1.0) -> Reply:
    reset_ms = int((time.time() + wait_s) * 1000)
    interval_ms = round(1000 / per_second) if per_second else 1000
    return error(429, "too-many-requests", "rate-limit-reached",
                 f"You have exceeded the rate limit of 1 request per {interval_ms} ms for this API",
                 headers=[("X-RateLimit-Reset", str(reset_ms))])


def server_error(status: int) -> Reply:
    return error(status, "internal-server-error" if status == 500 else "service-unavailable",
                 "internal-error" if status == 500 else "service-unavailable",
                 "The server encountered an unexpected condition")


def _validation(name: str, value: str, message: str) -> Reply:
    return error(400, "bad-request", "validation-error", message, [{"name": name, "value": value}])


class BandwidthApi:
    vendor = VENDOR
    fault_statuses = (500, 502, 503)

    def __init__(self, store: BandwidthStore, user_id: str, api_token: str, api_secret: str, runtime: Runtime):
        self.store, self.user_id, self._rt = store, user_id, runtime
        self.api_token, self._api_secret = api_token, api_secret

    @staticmethod
    def endpoint(path: str) -> str:
        return "calls" if _LIST.match(path) else ("call" if _ONE.match(path) else "other")

    def throttled(self) -> Reply:
        return rate_limited(1.0)

    def server_error(self, status: int) -> Reply:
        return server_error(status)

    def handle(self, req: Request) -> Reply:
        many, one = _LIST.match(req.path), _ONE.match(req.path)
        m = many or one
        if not m:
            return error(404, "not-found", "resource-not-found", f"The resource {req.path} was not found")
        if req.method != "GET":
            return error(405, "bad-request", "method-not-allowed", f"Method {req.method} is not allowed here")
        if not self._authorized(req.header("Authorization") or ""):
            return error(401, "unauthorized", "unauthorized", "Authentication failed: invalid api token or secret")
        if m.group(1) != self.user_id:
            return error(403, "authorization", "user-access-denied",
                         "The user does not have access to this API",
                         [{"name": "userId", "value": m.group(1)}])
        rps = self._rt.limits.bandwidth_rps
        wait = self._rt.limiter.take("bandwidth:" + self.api_token, rps, rps or 1)
        if wait:
            return rate_limited(wait, rps)
        now_ms = self._rt.clock.now_ms()
        bad_rate = self._rt.faults.bad_record_rate
        if one:
            found = self.store.find(one.group(2), now_ms)
            if found is None:
                return error(404, "not-found", "call-not-found", f"The call {one.group(2)} could not be found")
            return Reply(200, self.store.served(*found, now_ms, bad_rate), records=1)
        return self._list(req, now_ms, bad_rate)

    def _authorized(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        try:
            user, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return scheme.lower() == "basic" and user == self.api_token and password == self._api_secret

    def _list(self, req: Request, now_ms: int, bad_rate: float) -> Reply:
        raw_page, raw_size = req.arg("page"), req.arg("size")
        try:
            page = int(raw_page) if raw_page not in (None, "") else 0
        except ValueError:
            return _validation("page", raw_page or "", "page must be a non-negative integer")
        if page < 0:
            return _validation("page", raw_page or "", "page must be a non-negative integer")
        try:
            size = int(raw_size) if raw_size not in (None, "") else DEFAULT_SIZE
        except ValueError:
            return _validation("size", raw_size or "", f"size must be an integer between 1 and {MAX_SIZE}")
        if not 1 <= size <= MAX_SIZE:
            return _validation("size", raw_size or "", f"size must be an integer between 1 and {MAX_SIZE}")
        order = req.arg("sortOrder") or "desc"
        if order not in ("asc", "desc"):
            return _validation("sortOrder", order, "sortOrder must be asc or desc")
        desc = order == "desc"
        frm, to = req.arg("from") or None, req.arg("to") or None
        bridge, conference = req.arg("bridgeId") or None, req.arg("conferenceId") or None

        if bridge or conference:  # "pagination do not apply"
            hits = self.store.matching(now_ms, frm, to, bridge, conference)
            rows = [self.store.served(d, i, now_ms, bad_rate) for d, i in (reversed(hits) if desc else hits)]
            return Reply(200, b"[" + b",".join(rows) + b"]", records=len(rows))
        if frm or to:
            hits = self.store.matching(now_ms, frm, to, None, None)
            total = len(hits)
            lo, hi = page * size, min((page + 1) * size, total)
            if desc:
                lo, hi = total - hi, total - lo
            chosen = hits[lo:hi] if lo < hi else []
            rows = [self.store.served(d, i, now_ms, bad_rate) for d, i in chosen]
            if desc:
                rows.reverse()
        else:
            rows, total = self.store.page(now_ms, page, size, desc, bad_rate)
        links = self._links(req, page, size, total)
        return Reply(200, b"[" + b",".join(rows) + b"]", [("Link", links)], records=len(rows))

    @staticmethod
    def _links(req: Request, page: int, size: int, total: int) -> str:
        others = [(k, v) for k, v in req.query if k not in ("page", "size")]

        def url(p: int) -> str:
            return f"{req.base_url}{req.path}?{urlencode([('page', p), ('size', size), *others])}"

        last = max(0, ceil_div(total, size) - 1)
        links = [f'<{url(0)}>; rel="first"']
        if page > 0:
            links.append(f'<{url(page - 1)}>; rel="previous"')
        if (page + 1) * size < total:
            links.append(f'<{url(page + 1)}>; rel="next"')
        links.append(f'<{url(last)}>; rel="last"')
        return ", ".join(links)
