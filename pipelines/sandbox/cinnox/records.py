"""One UTC day of generated CINNOX call records, kept pre-serialized in (callDate, id) order."""

from __future__ import annotations

import hashlib
import math
from array import array
from dataclasses import dataclass, field

import numpy as np
import orjson

from ..data import DAY_MS, HOUR_MS, compact, day_rng, gc_paused, hex_ids, iso_ms, sample_start_times, yyyymmdd
from ..faults import DEFECTS
from .staff import Staff

VENDOR = "cinnox"
TZ_OFFSET_H = 8  # the tenant works Hong Kong office hours
LATE_SHARE = 0.02
LATE_MAX_H = 36

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


# External parties: (alpha-2, country code, national significant number range, trunk prefix, share)
_COUNTRIES = (
    ("HK", "852", (51_000_000, 99_999_999), "", 0.50),
    ("SG", "65", (81_000_000, 98_999_999), "", 0.15),
    ("TW", "886", (900_000_000, 989_999_999), "0", 0.10),
    ("MY", "60", (120_000_000, 199_999_999), "0", 0.10),
    ("GB", "44", (7_400_000_000, 7_999_999_999), "0", 0.08),
    ("US", "1", (2_012_000_000, 9_899_999_999), "1", 0.07),
)
_FIRST_NAMES = (
    "Chris",
    "Mei",
    "Ahmad",
    "Siti",
    "Oliver",
    "Wei",
    "Priya",
    "Kenji",
    "Hannah",
    "Raj",
    "Lucy",
    "Ming",
    "Nur",
    "James",
    "Yuki",
    "Sarah",
    "Kevin",
    "Aisha",
    "Tom",
    "Ling",
)
_LAST_NAMES = (
    "Tan",
    "Lim",
    "Smith",
    "Nguyen",
    "Wang",
    "Kumar",
    "Sato",
    "Abdullah",
    "Brown",
    "Lee",
    "Chen",
    "Ong",
    "Taylor",
    "Huang",
    "Ismail",
    "Davies",
    "Koh",
    "Lin",
    "Patel",
    "Goh",
)


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

    call_ms: array[int] = field(default_factory=lambda: array("q"))
    visible_ms: array[int] = field(default_factory=lambda: array("q"))  # callEndTime, later if late
    ids: list[str] = field(default_factory=list)
    call_type: bytearray = field(default_factory=bytearray)
    status: bytearray = field(default_factory=bytearray)
    badness: array[float] = field(default_factory=lambda: array("d"))
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
    weights = np.array([s.call_weight for s in staff])
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
    rows: list[tuple[int, str, int, int, int, bytes]] = []  # (callDate ms, id, visible ms, type, status, record)
    for i in range(n):
        t0, st, ct, inb, ui, h = starts[i], status[i], ctype[i], inbound[i], u[i], hexes[i]
        status_name, _, code, bye, ring_span = STATUSES[st]
        span = ring_span or (0, 0)  # no span for a call that ended normally: its talk time decides
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
        events: list[dict[str, object]] = []
        has_audio = False
        if recording:
            events, has_audio = _recording_events(h, ui, svc_id, handler or a, answer_ms, end, video)

        sec = t0 // 1000
        call_id = f"{sec:08x}{h[:16]}"
        record = {
            "id": call_id,
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
        rows.append((t0, call_id, visible, ct, st, compact(dumps(record))))

    rows.sort()  # by (callDate, id); ids are unique, so the comparison never reaches further
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


def _recording_events(
    h: str, ui: list[float], svc_id: str, recorder: Staff, answer_ms: int, end: int, video: bool
) -> tuple[list[dict[str, object]], bool]:
    """0-2 recording events (pauses split a recording) with 0-2 files each; a voicemail is the
    last 30 s of an unanswered call."""
    rec_start = answer_ms or end - 30_000
    n_events = 2 if ui[8] < 0.2 else 1
    step = (end - rec_start) // n_events
    events = []
    has_audio = False
    for e in range(n_events):
        e_start, e_end = rec_start + e * step + (1_500 if e else 0), rec_start + (e + 1) * step
        n_files = 0 if ui[9] < 0.05 else (2 if ui[10] < 0.1 else 1)
        files = []
        for f in range(n_files):
            is_video = video and f == 1
            has_audio = has_audio or not is_video
            ext = "mp4" if is_video else "mp3"
            fid = hashlib.md5(f"{h}{e}{f}".encode()).hexdigest()[:24]
            dur = e_end - e_start
            files.append(
                {
                    "id": fid,
                    "name": f"{h[:24]}_{e + 1}_{f + 1}.{ext}",
                    "downloadUrl": _signed_url(svc_id, fid, ext, end + 120_000),
                    "duration": dur,
                    "mimeType": "video/mp4" if is_video else "audio/mpeg",
                    "size": dur * (250 if is_video else 16),
                    "type": 2 if is_video else 3,
                    "isPrivate": True,
                }
            )
        events.append(
            {"recorderEID": recorder.eid, "startAt": iso_ms(e_start), "endAt": iso_ms(e_end), "files": files, "code": 0}
        )
    return events, has_audio
