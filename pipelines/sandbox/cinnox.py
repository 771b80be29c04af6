"""CINNOX call-detail: generated call records and the `GET /v1/api/apps/{appID}/data/call-detail`
endpoint.

Quirks served on purpose (see vendor-apis.md section 1):
- `caller`/`callee` mix JSON numbers (no leading `+`), `+E.164` strings and national-format
  strings with a leading `0`.
- The window is INCLUSIVE at both ends (startAt <= callDate <= endAt): a call exactly on a
  boundary is served by both adjacent windows.
- A call is listed only once it has ended; ~2% arrive LATE (1-36 h after they ended), so a
  window already read can grow when the clock moves on.
- No total and no next link: offset paging until a short page.
- `recordingEventList[].files[].downloadUrl` is a signed, expiring S3-style URL.
Unconfirmed details chosen here [U]: success code 0, 401/403 bodies with codes 6450011/6450013,
429 + Retry-After for code 6451010, limit 0 or absent = 100.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import orjson

from .data import (
    DAY_MS,
    HOUR_MS,
    DayCache,
    ceil_div,
    day_rng,
    derive_seed,
    gc_paused,
    compact,
    hex_ids,
    iso_ms,
    parse_rfc3339_us,
    sample_start_times,
    uuids,
    yyyymmdd,
)
from .runtime import Runtime
from .faults import DEFECTS, DefectTargets, bad_record_entry, is_bad, malform
from .wire import Reply, Request

VENDOR = "cinnox"
TZ_OFFSET_H = 8  # the tenant works Hong Kong office hours
LATE_SHARE = 0.02
LATE_MAX_H = 36
DEFAULT_LIMIT = 100
MAX_LIMIT = 500

CALL_TYPES = ("offnet", "onnet", "smartcall")
CALL_TYPE_SHARES = (0.72, 0.18, 0.10)
# status, share, lastResponseCode, byeReason, (min, max) total duration ms when not answered
STATUSES = (
    ("Call Ended", 0.62, "200", "Normal Call Clearing", None),
    ("Not Answered", 0.12, "480", "No Answer", (20_000, 60_000)),
    ("Cancelled", 0.07, "487", "Originator Cancel", (3_000, 25_000)),
    ("Abandoned", 0.06, "200", "Caller Hung Up", (10_000, 300_000)),
    ("Busy", 0.04, "486", "Busy Here", (1_000, 5_000)),
    ("Declined", 0.04, "603", "Decline", (2_000, 15_000)),
    ("Unreachable", 0.02, "404", "Not Found", (500, 5_000)),
    ("Call Failed", 0.03, "503", "Service Unavailable", (200, 3_000)),
)
STATUS_NAMES = tuple(s[0] for s in STATUSES)
_ENDED, _NOT_ANSWERED, _ABANDONED = 0, 1, 3

DEFECT_TARGETS = DefectTargets("id", "callDate", "seq", "abc")

# --- the tenant: a fixed staff roster so per-agent reports make sense -------------------------

DEPARTMENTS = (("Sales", "+85230018001"), ("Support", "+85230018002"), ("Billing", "+85230018003"),
               ("Operations", "+85230018004"))
_ROLE_NAMES = {"ADMIN": "Administrator", "SUPERVISOR": "Supervisor", "AGENT": "Agent"}
# name, department index, role
_ROSTER = (
    ("Alice Chan", 0, "SUPERVISOR"), ("Brian Wong", 0, "AGENT"), ("Carmen Lee", 0, "AGENT"),
    ("Daniel Ho", 0, "AGENT"), ("Eva Lam", 0, "AGENT"), ("Felix Cheung", 1, "SUPERVISOR"),
    ("Grace Ng", 1, "AGENT"), ("Henry Yip", 1, "AGENT"), ("Iris Tsang", 1, "AGENT"),
    ("Jason Leung", 1, "AGENT"), ("Karen Fung", 1, "AGENT"), ("Leo Kwok", 2, "SUPERVISOR"),
    ("Mandy Chow", 2, "AGENT"), ("Nathan Siu", 2, "AGENT"), ("Olivia Tam", 2, "AGENT"),
    ("Peter Mak", 3, "ADMIN"), ("Queenie Lau", 3, "SUPERVISOR"), ("Ryan Tse", 3, "AGENT"),
    ("Sophie Yuen", 3, "AGENT"), ("Tommy Kan", 3, "ADMIN"),
)
_ROLE_WEIGHT = {"AGENT": 1.0, "SUPERVISOR": 0.35, "ADMIN": 0.08}


@dataclass(frozen=True)
class Staff:
    eid: str
    first: str
    last: str
    display: str
    department: str
    department_id: str
    role: str
    role_name: str
    did: str  # the member's direct number
    hotline: str  # the department's published number, used for offnet calls


def staff_roster(seed: int) -> list[Staff]:
    rng = np.random.default_rng(derive_seed(seed, VENDOR, "roster"))
    eids = uuids(rng, len(_ROSTER))
    dept_ids = hex_ids(rng, len(DEPARTMENTS), 12)
    out = []
    for k, ((name, d, role), eid) in enumerate(zip(_ROSTER, eids)):
        first, last = name.split(" ")
        out.append(Staff(eid, first, last, name, DEPARTMENTS[d][0], dept_ids[d], role, _ROLE_NAMES[role],
                         f"+8523001{8100 + k:04d}", DEPARTMENTS[d][1]))
    return out


# External parties: (alpha-2, country code, national significant number range, trunk prefix, share)
_COUNTRIES = (
    ("HK", "852", (51_000_000, 99_999_999), "", 0.50),
    ("SG", "65", (81_000_000, 98_999_999), "", 0.15),
    ("TW", "886", (900_000_000, 989_999_999), "0", 0.10),
    ("MY", "60", (120_000_000, 199_999_999), "0", 0.10),
    ("GB", "44", (7_400_000_000, 7_999_999_999), "0", 0.08),
    ("US", "1", (2_012_000_000, 9_899_999_999), "1", 0.07),
)
_FIRST_NAMES = ("Chris", "Mei", "Ahmad", "Siti", "Oliver", "Wei", "Priya", "Kenji", "Hannah", "Raj",
                "Lucy", "Ming", "Nur", "James", "Yuki", "Sarah", "Kevin", "Aisha", "Tom", "Ling")
_LAST_NAMES = ("Tan", "Lim", "Smith", "Nguyen", "Wang", "Kumar", "Sato", "Abdullah", "Brown", "Lee",
               "Chen", "Ong", "Taylor", "Huang", "Ismail", "Davies", "Koh", "Lin", "Patel", "Goh")


def _number(country: int, nsn: int, style: float) -> int | str:
    """A phone number as CINNOX serves it: JSON number (no '+', no leading 0), '+E.164', or the
    national format string (leading 0 where the country dials one)."""
    _, cc, _, trunk, _ = _COUNTRIES[country]
    if style < 0.30:
        return int(f"{cc}{nsn}")
    if style < 0.45 and trunk:
        return f"{trunk}{nsn}"
    return f"+{cc}{nsn}"


def _did(did: str, style: float) -> int | str:
    return int(did[1:]) if style < 0.30 else did


def _signed_url(svc: str, file_id: str, ext: str, signed_ms: int) -> str:
    sig = hashlib.sha256(file_id.encode()).hexdigest()
    day = yyyymmdd(signed_ms)
    ts = iso_ms(signed_ms)
    return (
        f"https://cnx-recordings-ap-east-1.s3.ap-east-1.amazonaws.com/{svc}/{day}/{file_id}.{ext}"
        f"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA5CNXREC{sig[:9].upper()}%2F{day}"
        f"%2Fap-east-1%2Fs3%2Faws4_request&X-Amz-Date={day}T{ts[11:13]}{ts[14:16]}{ts[17:19]}Z"
        f"&X-Amz-Expires=604800&X-Amz-SignedHeaders=host&X-Amz-Signature={sig}"
    )


# --- one day of calls -------------------------------------------------------------------------


@dataclass
class CinnoxDay:
    """One UTC day's calls, sorted by (callDate, id), each kept pre-serialized."""

    call_ms: array = field(default_factory=lambda: array("q"))
    visible_ms: array = field(default_factory=lambda: array("q"))  # callEndTime, later if late
    ids: list[str] = field(default_factory=list)
    call_type: bytearray = field(default_factory=bytearray)
    status: bytearray = field(default_factory=bytearray)
    badness: array = field(default_factory=lambda: array("d"))
    defect: bytearray = field(default_factory=bytearray)
    records: list[bytes] = field(default_factory=list)
    malformed: dict[int, tuple[bytes, str, str]] = field(default_factory=dict)  # i -> bytes, defect, field
    last_visible: int = 0  # once the clock passes this, every call of the day is listed


def generate_day(seed: int, day: int, per_day: float, staff: list[Staff], svc_id: str) -> CinnoxDay:
    with gc_paused():
        return _generate_day(seed, day, per_day, staff, svc_id)


def _generate_day(seed: int, day: int, per_day: float, staff: list[Staff], svc_id: str) -> CinnoxDay:
    rng = day_rng(seed, VENDOR, day)
    starts = sample_start_times(rng, day, per_day, TZ_OFFSET_H).tolist()
    n = len(starts)
    # Draw everything vectorised, then walk plain lists: numpy scalar access per field would
    # dominate the cost of a million records.
    status = rng.choice(len(STATUSES), size=n, p=[s[1] for s in STATUSES]).tolist()
    ctype = rng.choice(3, size=n, p=CALL_TYPE_SHARES).tolist()
    inbound = (rng.random(n) < 0.6).tolist()
    ring = rng.integers(3_000, 30_000, size=n).tolist()
    talk = np.clip(np.exp(rng.normal(math.log(150_000), 1.0, size=n)), 5_000, 3 * HOUR_MS).astype(np.int64).tolist()
    u = rng.random((n, 12)).tolist()  # per-call uniforms for the small choices below
    late_delay = rng.integers(HOUR_MS, LATE_MAX_H * HOUR_MS, size=n).tolist()
    weights = np.array([_ROLE_WEIGHT[s.role] for s in staff])
    staff_a = rng.choice(len(staff), size=n, p=weights / weights.sum())
    staff_b = ((staff_a + rng.integers(1, len(staff), size=n)) % len(staff)).tolist()
    staff_a = staff_a.tolist()
    country = rng.choice(len(_COUNTRIES), size=n, p=[c[4] for c in _COUNTRIES])
    nsn_lo = np.array([c[2][0] for c in _COUNTRIES], dtype=np.int64)
    nsn_span = np.array([c[2][1] - c[2][0] for c in _COUNTRIES], dtype=np.int64)
    nsn = (nsn_lo[country] + (rng.random(n) * nsn_span[country]).astype(np.int64)).tolist()
    country = country.tolist()
    first = rng.integers(0, len(_FIRST_NAMES), size=n).tolist()
    last = rng.integers(0, len(_LAST_NAMES), size=n).tolist()
    ip = rng.integers(0, 256, size=(n, 2)).tolist()
    hexes = hex_ids(rng, n, 44)  # id, hid, roomID, callID
    badness = rng.random(n)
    defect = rng.integers(0, len(DEFECTS), size=n)
    date = yyyymmdd(day * DAY_MS)

    dumps = orjson.dumps
    rows = []
    for i in range(n):
        t0, st, ct, inb, ui, h = starts[i], status[i], ctype[i], inbound[i], u[i], hexes[i]
        status_name, _, code, bye, span = STATUSES[st]
        connected = st == _ENDED or st == _ABANDONED
        if st == _ENDED:
            answer_ms = t0 + ring[i]
            end = answer_ms + talk[i]
        elif st == _ABANDONED:
            answer_ms = t0 + ring[i]
            end = answer_ms + span[0] + int(ui[0] * (span[1] - span[0]))
        else:
            answer_ms, end = 0, t0 + span[0] + int(ui[0] * (span[1] - span[0]))
        visible = end + late_delay[i] if ui[1] < LATE_SHARE else end

        a = staff[staff_a[i]]
        cn = country[i]
        external = _number(cn, nsn[i], ui[2])
        ext_first = _FIRST_NAMES[first[i]] if ui[3] < 0.7 else ""
        ext_last = _LAST_NAMES[last[i]] if ui[3] < 0.7 else ""
        if ext_first:
            ext_display = f"{ext_first} {ext_last}"
        else:
            ext_display = external if isinstance(external, str) else f"+{external}"
        if ct == 1:  # onnet: staff to staff
            frm, to = a, staff[staff_b[i]]
            caller, callee = _did(a.did, ui[2]), _did(to.did, ui[4])
            prepare = ""
        elif inb:
            frm, to = None, a
            caller, callee = external, _did(a.hotline, ui[4])
            prepare = a.hotline
        else:
            frm, to = a, None
            caller, callee = _did(a.hotline, ui[4]), external
            prepare = a.hotline
        handler = to if inb else frm
        record_type = "call"
        if st == _NOT_ANSWERED and inb and ct != 1 and ui[5] < 0.35:
            record_type = "voicemail"
        elif st == _ENDED and ct == 1 and ui[5] < 0.05:
            record_type = "conference"
        video = ct == 1 and ui[6] < 0.08
        recording = record_type == "voicemail" or (connected and ui[7] < 0.4)
        events = _recording_events(h, ui, svc_id, handler or a, answer_ms, end, video) if recording else []
        has_audio = any(f["type"] == 3 for e in events for f in e["files"])

        sec = t0 // 1000
        record = {
            "id": f"{sec:08x}{h[:16]}",
            "hid": f"{sec:08x}{h[16:32]}",
            "svcID": svc_id,
            "date": date,
            "roomID": h[32:56],
            "seq": 1 + int(ui[11] * 3),
            "type": "call",
            "fromEID": frm.eid if frm else "",
            "toEID": to.eid if to else "",
            "fromSvcID": svc_id if frm else "",
            "toSvcID": svc_id if to else "",
            "fromRegion": "HK" if frm else _COUNTRIES[cn][0],
            "callSeq": i + 1,
            "callID": f"{h[56:64]}-{h[64:68]}-4{h[69:72]}-a{h[73:76]}-{h[76:88]}",
            "callDirection": "Inbound" if inb else "Outbound",
            "callType": CALL_TYPES[ct],
            "fromIP": f"116.48.{ip[i][0]}.{ip[i][1]}" if frm else f"203.0.113.{ip[i][1]}",
            "callPrepareFromNum": prepare,
            "caller": caller,
            "callee": callee,
            "callDate": iso_ms(t0),
            "callEndTime": iso_ms(end),
            "status": status_name,
            "lastResponseCode": code,
            "byeReason": bye,
            "releaseParty": (handler or a).eid if connected and ui[11] < 0.5 else "",
            "mediaType": "video" if video else "audio",
            "isRecording": recording,
            "hasAudioFile": has_audio,
            "recordingEventList": events,
            "recordType": record_type,
            "fromRole": frm.role if frm else "",
            "toRole": to.role if to else "",
            "fromRoleName": frm.role_name if frm else "",
            "toRoleName": to.role_name if to else "",
            "fromDepartment": frm.department if frm else "",
            "toDepartment": to.department if to else "",
            "fromDisplayName": frm.display if frm else ext_display,
            "toDisplayName": to.display if to else ext_display,
            "lastHandledParty": handler.eid if handler and (connected or record_type == "voicemail") else "",
            "fromDepartmentID": frm.department_id if frm else "",
            "toDepartmentID": to.department_id if to else "",
            "callerFirstName": frm.first if frm else ext_first,
            "callerLastName": frm.last if frm else ext_last,
            "calleeFirstName": to.first if to else ext_first,
            "calleeLastName": to.last if to else ext_last,
        }
        rows.append((t0, record["id"], visible, ct, st, compact(dumps(record))))

    rows.sort(key=lambda r: (r[0], r[1]))
    out = CinnoxDay()
    out.call_ms = array("q", [r[0] for r in rows])
    out.ids = [r[1] for r in rows]
    out.visible_ms = array("q", [r[2] for r in rows])
    out.call_type = bytearray(r[3] for r in rows)
    out.status = bytearray(r[4] for r in rows)
    out.records = [r[5] for r in rows]
    out.last_visible = max(out.visible_ms) if n else 0
    out.badness = array("d", badness.tolist())
    out.defect = bytearray(defect.astype(np.uint8).tobytes())
    return out


def _recording_events(h: str, ui: list[float], svc_id: str, recorder: Staff, answer_ms: int, end: int,
                      video: bool) -> list[dict]:
    """0-2 recording events (pauses split a recording) with 0-2 files each; a voicemail is the
    last 30 s of an unanswered call."""
    rec_start = answer_ms or end - 30_000
    n_events = 2 if ui[8] < 0.2 else 1
    step = (end - rec_start) // n_events
    events = []
    for e in range(n_events):
        e_start, e_end = rec_start + e * step + (1_500 if e else 0), rec_start + (e + 1) * step
        n_files = 0 if ui[9] < 0.05 else (2 if ui[10] < 0.1 else 1)
        files = []
        for f in range(n_files):
            is_video = video and f == 1
            ext = "mp4" if is_video else "mp3"
            fid = hashlib.md5(f"{h}{e}{f}".encode()).hexdigest()[:24]
            dur = e_end - e_start
            files.append({
                "id": fid,
                "name": f"{h[:24]}_{e + 1}_{f + 1}.{ext}",
                "downloadUrl": _signed_url(svc_id, fid, ext, end + 120_000),
                "duration": dur,
                "mimeType": "video/mp4" if is_video else "audio/mpeg",
                "size": dur * (250 if is_video else 16),
                "type": 2 if is_video else 3,
                "isPrivate": True,
            })
        events.append({"recorderEID": recorder.eid, "startAt": iso_ms(e_start), "endAt": iso_ms(e_end),
                       "files": files, "code": 0})
    return events


# --- the store: what exists, and what is visible at a given clock -----------------------------

_CACHE_SIZE = 16


class CinnoxStore:
    def __init__(self, seed: int, first_day: int, per_day: float):
        self.staff = staff_roster(seed)
        self.svc_id = "svc-" + hex_ids(np.random.default_rng(derive_seed(seed, VENDOR, "svc")), 1, 8)[0]
        self._seed, self._per_day = seed, per_day
        self._days: DayCache[CinnoxDay] = DayCache(first_day, self._generate, lambda d: CinnoxDay())
        self._selections: OrderedDict[tuple, list[bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self._version = 0  # bumped by add(), so cached selections never go stale

    def _generate(self, day: int) -> CinnoxDay:
        return generate_day(self._seed, day, self._per_day, self.staff, self.svc_id)

    def generate_until(self, now_ms: int) -> int:
        return sum(len(d.ids) for d in self._days.days(self._days.first_day, now_ms // DAY_MS))

    def select(self, lo_ms: int | None, hi_ms: int, now_ms: int, call_type: int | None = None,
               status: int | None = None, bad_rate: float = 0.0, skip_bad: bool = False) -> list[bytes]:
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
                if (call_type is not None and day.call_type[i] != call_type) or (
                    status is not None and day.status[i] != status
                ):
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
        found = day.malformed.get(i)
        if found is None:
            defect = DEFECTS[day.defect[i]]
            broken, fld = malform(orjson.loads(day.records[i]), defect, DEFECT_TARGETS)
            found = day.malformed[i] = (orjson.dumps(broken), defect, fld)
        return found

    def calls(self, start_us: int, end_us: int, now_ms: int, bad_rate: float, include_bad: bool) -> list[dict]:
        """Truth: calls with start <= callDate < end as served now; malformed ones left out
        unless include_bad (then exactly as served, broken)."""
        rows = self.select(ceil_div(start_us, 1000), ceil_div(end_us, 1000) - 1, now_ms,
                           bad_rate=bad_rate, skip_bad=not include_bad)
        return [orjson.loads(r) for r in rows]

    def bad_records(self, start_us: int | None, end_us: int | None, now_ms: int, bad_rate: float) -> list[dict]:
        if bad_rate <= 0:
            return []
        lo = self._days.first_day * DAY_MS if start_us is None else ceil_div(start_us, 1000)
        hi = now_ms if end_us is None else min(now_ms, ceil_div(end_us, 1000) - 1)
        out = []
        for day in self._days.days(lo // DAY_MS, hi // DAY_MS):
            for i in range(bisect_left(day.call_ms, lo), bisect_right(day.call_ms, hi)):
                if day.visible_ms[i] <= now_ms and is_bad(day.badness[i], bad_rate):
                    raw, defect, fld = self._malformed(day, i)
                    out.append(bad_record_entry(VENDOR, day.ids[i], defect, fld, orjson.loads(raw)))
        return out

    def add(self, record: dict) -> str:
        """Inject a constructed call; listed once its callEndTime has passed, never malformed."""
        call_us = parse_rfc3339_us(record["callDate"])
        end_us = parse_rfc3339_us(record.get("callEndTime", record["callDate"]))
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
            day.records.insert(i, orjson.dumps(record))
            day.malformed.clear()  # keyed by position, which just shifted
            day.last_visible = max(day.last_visible, end_ms)
            self._version += 1
            self._selections.clear()
        return rid


# --- the endpoint -----------------------------------------------------------------------------

_PATH = re.compile(r"^/v1/api/apps/([^/]+)/data/call-detail/?$")
PARAM_ERROR = 6451000
METHOD_NOT_FOUND = 6450001
TOO_MANY_REQUESTS = 6451010
INTERNAL_ERROR = 6451001
UNAUTHORIZED = 6450011
FORBIDDEN = 6450013


def error(status: int, code: int, message: str, headers: list[tuple[str, str]] | None = None) -> Reply:
    return Reply.json(status, {"code": code, "message": message}, headers)


def rate_limited(retry_after_s: int) -> Reply:
    return error(429, TOO_MANY_REQUESTS, "Too many requests", [("Retry-After", str(retry_after_s))])


def server_error(status: int) -> Reply:
    return error(status, INTERNAL_ERROR, "internal error")


class CinnoxApi:
    vendor = VENDOR
    fault_statuses = (500, 502, 503)

    def __init__(self, store: CinnoxStore, app_id: str, app_token: str, runtime: Runtime) -> None:
        self.store, self.app_id, self.app_token, self._rt = store, app_id, app_token, runtime

    @staticmethod
    def endpoint(path: str) -> str:
        return "call-detail" if _PATH.match(path) else "other"

    def throttled(self) -> Reply:
        return rate_limited(1)

    def server_error(self, status: int) -> Reply:
        return server_error(status)

    def handle(self, req: Request) -> Reply:
        m = _PATH.match(req.path)
        if not m or req.method != "GET":
            return error(404, METHOD_NOT_FOUND, "method not found")
        scheme, _, token = (req.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() != self.app_token:
            return error(401, UNAUTHORIZED, "Unauthorized: invalid or missing app token")
        if m.group(1) != self.app_id:
            return error(403, FORBIDDEN, "Forbidden: the app token does not grant access to this app")
        rps = self._rt.limits.cinnox_rps
        wait = self._rt.limiter.take("cinnox:" + self.app_token, rps, rps or 1)
        if wait:
            return rate_limited(max(1, math.ceil(wait)))
        return self._call_detail(req)

    def _call_detail(self, req: Request) -> Reply:
        start_at, end_at = req.arg("startAt") or "", req.arg("endAt") or ""
        if bool(start_at) != bool(end_at):
            return error(400, PARAM_ERROR, "missing one of startAt, endAt")
        lo_ms, hi_ms = None, None
        if start_at:
            start_us, end_us = parse_rfc3339_us(start_at), parse_rfc3339_us(end_at)
            if start_us is None or end_us is None:
                return error(400, PARAM_ERROR, "Bad query")
            if end_us < start_us:
                return error(400, PARAM_ERROR, "endAt is prior to startAt")
            lo_ms, hi_ms = ceil_div(start_us, 1000), end_us // 1000
        try:
            offset = int(req.arg("offset") or 0)
            limit = int(req.arg("limit") or 0)
        except ValueError:
            return error(400, PARAM_ERROR, "Bad query")
        if offset < 0:
            return error(400, PARAM_ERROR, "negative offset")
        if limit < 0:
            return error(400, PARAM_ERROR, "negative limit")
        if limit > MAX_LIMIT:
            return error(400, PARAM_ERROR, f"exceed maximum limit {MAX_LIMIT}")
        limit = limit or DEFAULT_LIMIT
        call_type = req.arg("callType") or None
        if call_type is not None and call_type not in CALL_TYPES:
            return error(400, PARAM_ERROR, "Bad query")
        status = req.arg("status") or None
        now_ms = self._rt.clock.now_ms()
        rows = self.store.select(
            lo_ms, now_ms if hi_ms is None else hi_ms, now_ms,
            call_type=None if call_type is None else CALL_TYPES.index(call_type),
            status=None if status is None else (STATUS_NAMES.index(status) if status in STATUS_NAMES else 254),
            bad_rate=self._rt.faults.bad_record_rate,
        )
        page = rows[offset : offset + limit]
        return Reply(200, b'{"code":0,"result":[' + b",".join(page) + b"]}", records=len(page))
