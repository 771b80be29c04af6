"""The reporting views' figures computed in Python, straight from the sandbox's ground truth.

Written from the documented rules (contract.md, vendor-apis.md, the views' YAML), not from the
SQL: the tests compare these with what the views return, exactly.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

# --- outcomes, as documented ------------------------------------------------------------------

CINNOX_OUTCOMES = {
    "Call Ended": "answered",
    "Abandoned": "missed",
    "Not Answered": "missed",
    "Cancelled": "missed",
    "Busy": "missed",
    "Declined": "missed",
    "Unreachable": "failed",
    "Call Failed": "failed",
}
SIP_MISSED = {408, 480, 486, 487, 600, 603}


def bandwidth_outcome(state: str, answered: bool) -> str:
    if state in ("started", "active", "transferring"):
        return "active"
    if state == "completed":
        return "answered" if answered else "missed"
    if state == "rejected":
        return "missed"
    return "unknown"


def sip_outcome(status: str, ended: bool) -> str:
    if status == "INVITE":
        return "active"
    code = int(status)
    if 200 <= code < 300:
        return "answered" if ended else "active"
    if code < 200:
        return "active"
    if code in SIP_MISSED:
        return "missed"
    return "failed" if code < 700 else "unknown"


# --- calls ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    vendor: str
    call_id: str
    direction: str | None
    from_number: str | None
    to_number: str | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    ring_s: Decimal | None
    talk_s: Decimal | None
    outcome: str
    status_raw: str
    has_recording: bool | None


CALL_COLUMNS = tuple(Call.__dataclass_fields__)


def ts(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text).astimezone(UTC) if text else None


def seconds(a: datetime, b: datetime) -> Decimal:
    return Decimal((b - a) // timedelta(milliseconds=1)) / 1000


def text(value: Any) -> str | None:
    return None if value is None else str(value)


def _call(vendor, call_id, direction, frm, to, started, answered, ended, outcome, status, recorded) -> Call:
    ring = seconds(started, answered) if answered else None
    talk = seconds(answered or started, ended) if outcome == "answered" and ended else None
    return Call(vendor, call_id, direction, text(frm), text(to), started, answered, ended, ring, talk, outcome, status, recorded)


def cinnox_calls(records: Iterable[dict]) -> list[Call]:
    out = []
    for r in records:
        recorded = any(e.get("files") for e in r.get("recordingEventList") or [])
        direction = {"inbound": "inbound", "outbound": "outbound"}.get((r.get("callDirection") or "").lower())
        out.append(
            _call(
                "cinnox",
                r["id"],
                direction,
                r.get("caller"),
                r.get("callee"),
                ts(r["callDate"]),
                None,
                ts(r.get("callEndTime")),
                CINNOX_OUTCOMES.get(r["status"], "unknown"),
                r["status"],
                recorded,
            )
        )
    return out


def bandwidth_calls(records: Iterable[dict]) -> list[Call]:
    out = []
    for r in records:
        answered = ts(r.get("activeTime"))
        out.append(
            _call(
                "bandwidth",
                r["id"],
                {"in": "inbound", "out": "outbound"}.get(r.get("direction")),
                r.get("from"),
                r.get("to"),
                ts(r["startTime"]),
                answered,
                ts(r.get("endTime")),
                bandwidth_outcome(r["state"], answered is not None),
                r["state"],
                bool(r.get("recordingEnabled")),
            )
        )
    return out


@dataclass
class Dialog:
    call: Call
    conversation_id: str | None


def is_request(m: dict) -> bool:
    """From `type` when present, else from `method` (a reply's method is its numeric status)."""
    if m.get("type") in ("1", "2"):
        return m["type"] == "1"
    return not m["method"].isdigit()


def cseq_methods(messages: Iterable[dict]) -> dict[tuple[str, str], str]:
    """(message id, date) -> the method its CSeq names; for a record without CSeq: a request's own
    method, a reply right after a CANCEL the CANCEL, any other reply the dialog's latest request
    before it other than ACK and CANCEL."""
    by_callid: dict[str, list[dict]] = defaultdict(list)
    for m in messages:
        by_callid[m["callid"]].append(m)
    methods = {}
    for rows in by_callid.values():
        rows.sort(key=lambda m: (int(m["microTs"]), m["id"]))
        previous, open_request = None, None
        for m in rows:
            request = is_request(m)
            if m.get("cseq"):
                methods[m["id"], m["date"]] = m["cseq"].split()[1].upper()
            elif request:
                methods[m["id"], m["date"]] = m["method"].upper()
            else:
                methods[m["id"], m["date"]] = "CANCEL" if previous == "CANCEL" else open_request
            previous = m["method"].upper() if request else None
            if request and m["method"].upper() not in ("ACK", "CANCEL"):
                open_request = m["method"].upper()
    return methods


def genesys_dialogs(messages: Iterable[dict]) -> dict[str, Dialog]:
    """SIP dialogs by Call-ID: started at the first INVITE, answered at the first 2xx reply to an
    INVITE, ended at the BYE (or its reply; an unanswered call at its final reply)."""
    by_callid: dict[str, list[dict]] = defaultdict(list)
    for m in messages:
        by_callid[m["callid"]].append(m)
    methods = cseq_methods(m for rows in by_callid.values() for m in rows)
    dialogs = {}
    for callid, rows in by_callid.items():
        rows.sort(key=lambda m: (int(m["microTs"]), m["date"]))
        invites = [m for m in rows if is_request(m) and m["method"].upper() == "INVITE"]
        if not invites:
            continue  # its INVITE lies before the loaded range
        replies = [m for m in rows if not is_request(m)]

        def cseq_method(m: dict) -> str | None:
            return methods[m["id"], m["date"]]

        invite_replies = [m for m in replies if cseq_method(m) == "INVITE"]
        answers = [m for m in invite_replies if 200 <= int(m["method"]) < 300]
        finals = [m for m in invite_replies if int(m["method"]) >= 200]
        provisional = [m for m in invite_replies if int(m["method"]) < 200]
        byes = [m for m in rows if is_request(m) and m["method"].upper() == "BYE"]
        bye_replies = [m for m in replies if cseq_method(m) == "BYE"]
        answered = min(ts(m["date"]) for m in answers) if answers else None
        ended = (
            min(ts(m["date"]) for m in byes)
            if byes
            else min(ts(m["date"]) for m in bye_replies)
            if bye_replies
            else ts(finals[-1]["date"])
            if not answers and finals and int(finals[-1]["method"]) >= 300
            else None
        )
        status = (
            answers[0]["method"]
            if answers
            else finals[-1]["method"]
            if finals
            else provisional[-1]["method"]
            if provisional
            else "INVITE"
        )
        conversations = sorted({m.get("conversationId") for m in rows if m.get("conversationId")})
        first = invites[0]
        call = _call(
            "genesys",
            callid,
            None,
            first["fromUser"],
            first["toUser"],
            min(ts(m["date"]) for m in invites),
            answered,
            ended,
            sip_outcome(status, ended is not None),
            status,
            None,
        )
        dialogs[callid] = Dialog(call, conversations[0] if conversations else None)
    return dialogs


def all_calls(truth: dict[str, list[dict]]) -> list[Call]:
    return (
        cinnox_calls(truth["cinnox"])
        + bandwidth_calls(truth["bandwidth"])
        + [d.call for d in genesys_dialogs(truth["genesys"]).values()]
    )


# --- aggregates -------------------------------------------------------------------------------


def local_day(at: datetime, zone: str) -> date:
    return at.astimezone(ZoneInfo(zone)).date()


def daily_calls(calls: Iterable[Call], zone: str) -> dict[tuple, dict[str, Any]]:
    groups: dict[tuple, list[Call]] = defaultdict(list)
    for c in calls:
        groups[(local_day(c.started_at, zone), c.vendor, c.direction)].append(c)
    out = {}
    for key, group in groups.items():
        n = {o: sum(1 for c in group if c.outcome == o) for o in ("answered", "missed", "failed", "active", "unknown")}
        talk = sum((c.talk_s for c in group if c.talk_s is not None), Decimal(0))
        timed = sum(1 for c in group if c.talk_s is not None)  # an answered call without an end has no talk_s
        ended = n["answered"] + n["missed"] + n["failed"]
        out[key] = {
            "calls": len(group),
            **n,
            "answer_rate": n["answered"] / ended if ended else None,
            "talk_s_total": talk,
            "talk_s_avg": float(talk) / timed if timed else None,
        }
    return out


def hourly_peaks(calls: Iterable[Call], zone: str) -> dict[tuple[datetime, str], int]:
    """Peak calls in progress over [started_at, ended_at) per local hour and vendor, every hour from
    the vendor's first to its last start or end. Zones with whole-hour offsets only."""
    tz = ZoneInfo(zone)
    by_vendor: dict[str, list[Call]] = defaultdict(list)
    for c in calls:
        if c.ended_at is not None or c.outcome == "active":  # an end never sent: when it ran is unknown
            by_vendor[c.vendor].append(c)
    out = {}
    for vendor, group in by_vendor.items():
        starts = sorted(c.started_at for c in group)
        ends = sorted(c.ended_at for c in group if c.ended_at is not None)

        def level(t: datetime, starts: list[datetime] = starts, ends: list[datetime] = ends) -> int:
            return bisect_right(starts, t) - bisect_right(ends, t)

        instants = sorted(set(starts) | set(ends))
        hour = instants[0].replace(minute=0, second=0, microsecond=0)
        last = instants[-1]
        i = 0
        while hour <= last:
            nxt = hour + timedelta(hours=1)
            peak = level(hour)
            while i < len(instants) and instants[i] < nxt:
                if instants[i] >= hour:
                    peak = max(peak, level(instants[i]))
                i += 1
            out[(hour.astimezone(tz).replace(tzinfo=None), vendor)] = peak
            hour = nxt
    return out


def agent_daily(records: Iterable[dict], zone: str) -> dict[tuple, dict[str, Any]]:
    """CINNOX calls per local day and staff member (lastHandledParty, else our side of the call)."""
    records = list(records)
    calls = {c.call_id: c for c in cinnox_calls(records)}
    latest: dict[str, tuple[datetime, str, str]] = {}
    for r in records:
        for side in ("from", "to"):
            eid = r.get(f"{side}EID")
            if eid:
                seen = (ts(r["callDate"]), r.get(f"{side}DisplayName") or None, r.get(f"{side}Department") or None)
                if eid not in latest or seen[0] > latest[eid][0]:
                    latest[eid] = seen
    out: dict[tuple, dict[str, Any]] = {}
    for r in records:
        ours = r.get("toEID") if r.get("callDirection") == "Inbound" else r.get("fromEID")
        staff = r.get("lastHandledParty") or ours or None
        if not staff:
            continue
        call = calls[r["id"]]
        key = (local_day(call.started_at, zone), staff)
        row = out.setdefault(
            key,
            {
                "display_name": latest.get(staff, (None, None, None))[1],
                "department": latest.get(staff, (None, None, None))[2],
                "calls": 0,
                "answered": 0,
                "talk_s_total": Decimal(0),
            },
        )
        row["calls"] += 1
        row["answered"] += call.outcome == "answered"
        row["talk_s_total"] += call.talk_s or 0
    return out


# --- child rows -------------------------------------------------------------------------------


def recordings(records: Iterable[dict]) -> set[tuple]:
    out = set()
    for r in records:
        for e_index, event in enumerate(r.get("recordingEventList") or []):
            for f_index, f in enumerate(event.get("files") or []):
                out.add(
                    (
                        "cinnox",
                        r["id"],
                        e_index,
                        f_index,
                        f["id"],
                        f["name"],
                        event.get("recorderEID") or None,
                        ts(event.get("startAt")),
                        ts(event.get("endAt")),
                        int(f["duration"]),
                        int(f["size"]),
                        f["mimeType"],
                        {2: "video", 3: "audio"}.get(f["type"]),
                        f["isPrivate"],
                    )
                )
    return out


def sip_headers(truth: dict[str, list[dict]], genesys_headers: Any) -> set[tuple]:
    """(vendor, call_id, conversation_id, name, value_index, value); `genesys_headers(conversation)`
    gives the sandbox's header map of a conversation."""
    out = set()
    for r in truth["bandwidth"]:
        for name, value in (r.get("sipHeaders") or {}).items():
            out.add(("bandwidth", r["id"], None, name, 0, value))
    for callid, dialog in genesys_dialogs(truth["genesys"]).items():
        if dialog.conversation_id is None:
            continue
        for name, values in (genesys_headers(dialog.conversation_id) or {}).items():
            for i, value in enumerate(values if isinstance(values, list) else [values]):
                out.add(("genesys", callid, dialog.conversation_id, name, i, value))
    return out


def sip_messages(messages: list[dict]) -> set[tuple]:
    conversations: dict[str, str] = {}
    for m in messages:
        if m.get("conversationId"):
            conversations[m["callid"]] = min(conversations.get(m["callid"], m["conversationId"]), m["conversationId"])
    methods = cseq_methods(messages)
    out = set()
    for m in messages:
        request = is_request(m)
        out.add(
            (
                m["callid"],
                m.get("conversationId") or conversations.get(m["callid"]),
                m["id"],
                ts(m["date"]),
                m["method"].upper() if request else methods[m["id"], m["date"]],
                None if request else int(m["method"]),
                request,
                m["fromUser"],
                m["toUser"],
                m["sourceIp"],
                m["destinationIp"],
            )
        )
    return out
