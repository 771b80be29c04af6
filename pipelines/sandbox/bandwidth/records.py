"""One UTC day of generated Bandwidth calls, each kept pre-serialized in its final state."""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field

import numpy as np
import orjson

from ..data import HOUR_MS, base32_ids, ceil_div, compact, day_rng, gc_paused, iso_ms, iso_s, sample_start_times
from ..faults import DEFECTS

VENDOR = "bandwidth"
TZ_OFFSET_H = -5  # US Eastern office hours
PUBLIC_HOST = "https://api.catapult.inetwork.com"  # in `events` URLs, so bodies do not depend on our port
REJECTED_SHARE = 0.12
TRANSFERRING_SHARE = 0.08


ACCOUNT_NUMBERS = ("+19195550100", "+19195550101", "+19195550102", "+19195550117", "+19845550142", "+17045550199")
_SIP_USERS = (
    "sip:frontdesk@callhouse.bwapp.bandwidth.com",
    "sip:agent-07@callhouse.bwapp.bandwidth.com",
    "sip:ivr@callhouse.bwapp.bandwidth.com",
    "sip:+19195550100@sip.carrier.example.net",
)
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

    start_ms: array[int] = field(default_factory=lambda: array("q"))
    active_ms: array[int] = field(default_factory=lambda: array("q"))  # 0 = never answered
    end_ms: array[int] = field(default_factory=lambda: array("q"))
    ids: list[str] = field(default_factory=list)
    from_: list[str] = field(default_factory=list)
    to: list[str] = field(default_factory=list)
    bridge: list[str | None] = field(default_factory=list)
    conference: list[str | None] = field(default_factory=list)
    transferring: bytearray = field(default_factory=bytearray)
    evolves: bytearray = field(default_factory=bytearray)  # 0 for injected calls, served as given
    badness: array[float] = field(default_factory=lambda: array("d"))
    defect: bytearray = field(default_factory=bytearray)
    records: list[bytes] = field(default_factory=list)
    last_end: int = 0  # once the clock passes this, every call of the day is final
    variants: dict[tuple[int, str, bool], bytes] = field(default_factory=dict)  # (i, state, bad) -> bytes
    index: dict[str, int] | None = None  # id -> position, built on first lookup


def _external_number(u: float, v: float, w: float) -> str:
    return f"+1{201 + int(u * 780)}{200 + int(v * 799)}{int(w * 10_000):04d}"


def _sip_headers(u: list[float], n: int) -> dict[str, str]:
    count = 1 + int(u[0] * 5)
    picked: list[str] = []
    k = int(u[1] * len(_HEADER_NAMES))
    while len(picked) < count:
        name = _HEADER_NAMES[k % len(_HEADER_NAMES)]
        if name not in picked:
            picked.append(name)
        k += 1 + int(u[2] * 3)
    out: dict[str, str] = {}
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
        record: dict[str, object] = {"id": cid, "direction": "in" if inbound else "out", "from": frm, "to": to}
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
        rows.append(
            (
                t0,
                cid,
                active,
                end,
                frm,
                to,
                bridge[i],
                conference[i],
                ui[14] < TRANSFERRING_SHARE,
                badness[i],
                defect[i],
                compact(orjson.dumps(record)),
            )
        )

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
