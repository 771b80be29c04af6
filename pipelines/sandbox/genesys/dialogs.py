"""One UTC day of generated SIP messages as HomerRecords (6-12 messages per call), kept
pre-serialized in (date, id) order, with the INVITE headers of the conversations started that day.

A day holds the messages DATED in it, not the dialogs started in it: the messages before midnight
of the dialogs started that day, plus the after-midnight messages of those started the day before
(a call can talk through midnight). So a query for [lo, hi) only has to look at the days lo..hi
touch. Each dialog is generated from its own seed, so both days produce the same messages."""

from __future__ import annotations

import math
import random
import uuid
import zlib
from array import array
from dataclasses import dataclass, field

import orjson

from ..data import DAY_MS, HOUR_MS, compact, day_rng, gc_paused, iso_ms, sample_start_times
from ..faults import DEFECTS

VENDOR = "genesys"
TZ_OFFSET_H = 1  # a European contact centre

_REASONS = {
    "100": "Trying",
    "180": "Ringing",
    "183": "Session Progress",
    "200": "OK",
    "404": "Not Found",
    "407": "Proxy Authentication Required",
    "480": "Temporarily Unavailable",
    "486": "Busy Here",
    "487": "Request Terminated",
    "503": "Service Unavailable",
}
_EDGES = (("10.27.4.11", "edge-euw1-01"), ("10.27.4.12", "edge-euw1-02"), ("10.27.9.30", "edge-euw1-03"))
_CARRIERS = (
    ("203.0.113.10", "sip.carrier-a.example.net", "Sonus SBC"),
    ("198.51.100.24", "trunk.carrier-b.example.com", "Ribbon SBC 9.2"),
    ("192.0.2.77", "voice.carrier-c.example.org", "Oracle ESBC 8.4"),
)
_EDGE_AGENT = "Genesys Cloud Edge/1.0.0.9871"
_CALLER_NAMES = ("", "Anna Schmidt", "Jean Dupont", "Pieter de Vries")
_ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, NOTIFY, REFER, UPDATE"

# The longest talk time of an answered call (see _script).
TALK_CAP_MS = 3 * HOUR_MS
# From a dialog's start time to its last message, at most: the talk cap plus the signalling gaps
# of _script, which add up to under 36 s (auth 80 + INVITE 200 + 100 30 + 183 1000 + 2 x 180
# 4000 + 200 30000 + ACK 80 + re-INVITE 100 + BYE's 200 50 ms), rounded up to a minute.
# generate_day checks every dialog against it: a longer one would lose its tail after midnight.
MAX_DIALOG_MS = TALK_CAP_MS + 60_000
# One dialog in this many is served without `type` and `cseq` (see _dialog_rows).
MINIMAL_EVERY = 20
# Homer's `id` is a counter per daily capture table: if Genesys passes it through, messages of
# different days share ids. The INVITE of every COUNTER_ID_EVERY-th dialog of a day gets the
# counter id `index // COUNTER_ID_EVERY` (zero-padded), so the same ids recur every day and
# stay unique within it.
COUNTER_ID_EVERY = 25
assert MAX_DIALOG_MS < DAY_MS  # only the day before can spill into a day


# A conversation's first message (epoch ms), its raw INVITE and that INVITE's headers.
Conversation = tuple[int, str, dict[str, list[str]]]


@dataclass
class GenesysDay:
    """The SIP messages dated in one UTC day (whichever day their dialog started), sorted by
    (date, id), each pre-serialized; `conversations` are those of the dialogs started that day."""

    date_ms: array[int] = field(default_factory=lambda: array("q"))
    ids: list[str] = field(default_factory=list)
    callid: list[str] = field(default_factory=list)
    from_user: list[str] = field(default_factory=list)
    to_user: list[str] = field(default_factory=list)
    conversation: list[str] = field(default_factory=list)  # "" where the row has none
    badness: array[float] = field(default_factory=lambda: array("d"))
    defect: bytearray = field(default_factory=bytearray)
    records: list[bytes] = field(default_factory=list)
    malformed: dict[int, tuple[bytes, str, str]] = field(default_factory=dict)
    conversations: dict[str, Conversation] = field(default_factory=dict)


@dataclass
class _Dialog:
    """What the messages of one call share."""

    r: random.Random
    callid: str
    conversation: str
    participant: str
    a_ip: str  # the side that sends the INVITE
    a_host: str
    a_agent: str
    b_ip: str
    b_host: str
    b_agent: str
    node: str
    from_user: str
    to_user: str
    caller_name: str
    from_tag: str
    to_tag: str
    proto: str


def _user(r: random.Random) -> str:
    number = f"{r.choice(('44', '49', '33', '31'))}{r.randrange(10**9, 10**10)}"
    return "+" + number if r.random() < 0.6 else number  # SIP users mix E.164 and bare digits


def _new_dialog(r: random.Random) -> _Dialog:
    edge_ip, node = r.choice(_EDGES)
    carrier_ip, carrier_host, carrier_agent = r.choice(_CARRIERS)
    inbound = r.random() < 0.6
    if inbound:
        a = (carrier_ip, carrier_host, carrier_agent)
        b = (edge_ip, edge_ip, _EDGE_AGENT)
    else:
        a = (edge_ip, edge_ip, _EDGE_AGENT)
        b = (carrier_ip, carrier_host, carrier_agent)
    if r.random() < 0.5:
        callid = f"{r.getrandbits(128):032x}@{a[0]}"
    else:
        callid = str(uuid.UUID(int=r.getrandbits(128), version=4))
    return _Dialog(
        r=r,
        callid=callid,
        conversation=str(uuid.UUID(int=r.getrandbits(128), version=4)),
        participant=str(uuid.UUID(int=r.getrandbits(128), version=4)),
        a_ip=a[0],
        a_host=a[1],
        a_agent=a[2],
        b_ip=b[0],
        b_host=b[1],
        b_agent=b[2],
        node=node,
        from_user=_user(r),
        to_user=_user(r),
        caller_name=r.choice(_CALLER_NAMES),
        from_tag=f"{r.getrandbits(32):08x}",
        to_tag=f"{r.getrandbits(32):08x}",
        proto="17" if r.random() < 0.8 else "6",
    )


def _script(r: random.Random) -> list[tuple[str, str, int]]:
    """The dialog's messages as (what, direction a>b or b>a, ms after the previous one).
    "REINVITE" is a mid-call session refresh (method INVITE inside the established dialog)."""
    outcome = r.random()
    auth = [("INVITE", ">", 0), ("407", "<", r.randint(5, 40)), ("ACK", ">", r.randint(5, 40))]
    with_auth = r.random() < 0.3
    msgs = [("INVITE", ">", r.randint(20, 200))]
    if r.random() < 0.85:  # some far ends answer without a provisional 100
        msgs.append(("100", "<", r.randint(5, 30)))
    if outcome < 0.68:  # answered
        if r.random() < 0.4:
            msgs.append(("183", "<", r.randint(100, 1000)))
        msgs.append(("180", "<", r.randint(100, 2000)))
        if r.random() < 0.1:  # forked or re-alerted
            msgs.append(("180", "<", r.randint(100, 2000)))
        msgs += [("200", "<", r.randint(2000, 30000)), ("ACK", ">", r.randint(20, 80))]
        talk = int(min(r.lognormvariate(math.log(150_000), 1.0), TALK_CAP_MS))
        if talk > 600_000 and not with_auth and r.random() < 0.5:
            msgs += [("REINVITE", ">", talk // 2), ("200", "<", r.randint(10, 50)), ("ACK", ">", r.randint(10, 50))]
            talk -= talk // 2
        msgs += [("BYE", ">" if r.random() < 0.5 else "<", talk), ("200", "~", r.randint(10, 50))]
    elif outcome < 0.85:  # failed
        final = r.choice(("486", "486", "503", "404", "480"))
        if final in ("486", "480"):
            msgs.append(("180", "<", r.randint(100, 2000)))
        msgs += [(final, "<", r.randint(200, 20000)), ("ACK", ">", r.randint(20, 80))]
        with_auth = with_auth or len(msgs) < 6
    else:  # cancelled: the caller gave up while it rang
        msgs += [
            ("180", "<", r.randint(100, 2000)),
            ("CANCEL", ">", r.randint(3000, 25000)),
            ("200", "<", r.randint(10, 50)),
            ("487", "<", r.randint(5, 30)),
            ("ACK", ">", r.randint(20, 80)),
        ]
    return auth + msgs if with_auth else msgs


def _sip_text(first_line: str, headers: list[tuple[str, str]], sdp: bool) -> str:
    body = (
        (
            "v=0\r\no=- 3958 3958 IN IP4 10.27.4.11\r\ns=-\r\nc=IN IP4 10.27.4.11\r\nt=0 0\r\n"
            "m=audio 16384 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"
        )
        if sdp
        else ""
    )
    lines = [first_line] + [f"{k}: {v}" for k, v in headers] + [f"Content-Length: {len(body)}", "", body]
    return "\r\n".join(lines)


def _dialog_rows(d: _Dialog, t0: int) -> tuple[list[dict[str, str]], str, dict[str, list[str]]]:
    """HomerRecords of one dialog, its (last) INVITE as raw text, and that INVITE's headers."""
    r = d.r
    rows: list[dict[str, str]] = []
    t = t0
    cseq = 0
    invite_headers: dict[str, list[str]] = {}
    invite_text = ""
    # Every HomerRecord field is optional: Homer's own documented OPTIONS record has neither
    # `type` nor `cseq`. One dialog in MINIMAL_EVERY is served that way (chosen from its Call-ID,
    # so the random stream, and every other record, stays as it was).
    minimal = zlib.crc32(d.callid.encode()) % MINIMAL_EVERY == 0
    for what, direction, gap in _script(r):
        t += gap
        is_request = not what.isdigit()
        reinvite = what == "REINVITE"
        if what in ("INVITE", "REINVITE"):
            cseq += 1
            what = "INVITE"
        if direction == "~":  # the reply goes back to whoever sent the BYE
            direction = "<" if rows[-1]["sourceIp"] == d.a_ip else ">"
        src_ip, src_host, src_agent, dst_ip, dst_host = (
            (d.a_ip, d.a_host, d.a_agent, d.b_ip, d.b_host)
            if direction == ">"
            else (d.b_ip, d.b_host, d.b_agent, d.a_ip, d.a_host)
        )
        method = what
        if what == "BYE" or (what == "200" and rows and rows[-1]["method"] == "BYE"):
            seq_no, seq_method = cseq + 1, "BYE"
        elif what == "CANCEL" or (what == "200" and rows and rows[-1]["method"] == "CANCEL"):
            seq_no, seq_method = cseq, "CANCEL"
        elif what == "ACK":
            seq_no, seq_method = cseq, "ACK"
        else:
            seq_no, seq_method = cseq, "INVITE"
        # The callee's tag appears with its first real reply; a new INVITE or a CANCEL has none.
        tagged = reinvite or what not in ("INVITE", "CANCEL", "100")
        to_tag = d.to_tag if tagged else ""
        ruri = f"sip:{d.to_user}@{d.b_host}:5060" if is_request else ""
        branch = f"z9hG4bK{r.getrandbits(48):012x}"
        via = f"SIP/2.0/{'UDP' if d.proto == '17' else 'TCP'} {src_ip if is_request else dst_ip}:5060;branch={branch}"
        from_h = (f'"{d.caller_name}" ' if d.caller_name else "") + f"<sip:{d.from_user}@{d.a_host}>;tag={d.from_tag}"
        to_h = f"<sip:{d.to_user}@{d.b_host}>" + (f";tag={to_tag}" if to_tag else "")
        contact_user = d.from_user if direction == ">" else d.to_user
        contact = f"<sip:{contact_user}@{src_ip}:5060>" if what in ("INVITE", "200", "180", "183") else ""
        sdp = what in ("INVITE", "183") or (what == "200" and seq_method == "INVITE")
        auth_user = d.from_user if what == "INVITE" and cseq > 1 and not reinvite else ""
        headers = [("Via", via), ("Max-Forwards", "70")] if is_request else [("Via", via)]
        headers += [("From", from_h), ("To", to_h), ("Call-ID", d.callid), ("CSeq", f"{seq_no} {seq_method}")]
        if contact:
            headers.append(("Contact", contact))
        if auth_user:
            digest = f'Digest username="{auth_user}", realm="{d.b_host}", nonce="{r.getrandbits(64):016x}"'
            headers.append(("Proxy-Authorization", digest))
        headers.append(("User-Agent" if is_request else "Server", src_agent))
        reason = ""
        if what == "BYE":
            reason = 'Q.850;cause=16;text="Normal call clearing"'
            headers.append(("Reason", reason))
        if sdp:
            headers.append(("Content-Type", "application/sdp"))
        if what == "INVITE":
            headers += [("Allow", _ALLOW), ("Supported", "100rel, timer, replaces"), ("X-Inin-Cnv", d.conversation)]
        first = f"{what} {ruri} SIP/2.0" if is_request else f"SIP/2.0 {what} {_REASONS[what]}"
        text = _sip_text(first, headers, sdp)
        if what == "INVITE" and not reinvite:
            invite_text = text
            invite_headers = {"ruri": [ruri]}
            for k, v in headers:
                invite_headers.setdefault(k.lower(), []).append(v)
            invite_headers["supported"] = ["100rel", "timer", "replaces"]  # a multi-valued header
            invite_headers["content-length"] = [str(len(text.split("\r\n\r\n", 1)[1]))]
        micro = t * 1000 + r.randrange(1000)
        conv_roll = r.random()
        row = {
            "id": f"{r.getrandbits(96):024x}",
            "name": first,
            "date": iso_ms(t),
            "milliTs": str(t),
            "microTs": str(micro),
            "method": method,
            "replyReason": "" if is_request else _REASONS[what],
            "ruri": ruri,
            "ruriUser": d.to_user if is_request else "",
            "ruriDomain": f"{d.b_host}:5060" if is_request else "",
            "fromUser": d.from_user,
            "fromDomain": d.a_host,
            "fromTag": d.from_tag,
            "toUser": d.to_user,
            "toDomain": d.b_host,
            "toTag": to_tag,
            "pidUser": d.from_user if what == "INVITE" else "",
            "contactUser": contact_user if contact else "",
            "authUser": auth_user,
            "callid": d.callid,
            "callidAleg": "",
            "via1": via,
            "via1Branch": branch,
            "cseq": f"{seq_no} {seq_method}",
            "diversion": "",
            "reason": reason,
            "contentType": "application/sdp" if sdp else "",
            "auth": "",
            "userAgent": src_agent,
            "sourceIp": src_ip,
            "sourcePort": "5060",
            "destinationIp": dst_ip,
            "destinationPort": "5060",
            "contactIp": src_ip if contact else "",
            "contactPort": "5060" if contact else "",
            "originatorIp": "",
            "originatorPort": "0",
            "correlationId": d.callid,
            "proto": d.proto,
            "family": "2",
            "rtpStat": "",
            "type": "1" if is_request else "2",
            "node": d.node,
            "trans": "call",
            "dbnode": "",
            "msg": text,
            "sourceAlias": d.node if src_ip.startswith("10.") else src_host,
            "destinationAlias": d.node if dst_ip.startswith("10.") else dst_host,
            "conversationId": d.conversation,
            "participantId": d.participant,
            "selfUri": f"/api/v2/telephony/siptraces?callId={d.callid}",
        }
        # Only the initial INVITE reliably carries the conversation; others may lack it.
        if what != "INVITE" or reinvite:
            if conv_roll < 0.12:
                del row["conversationId"]
            elif conv_roll < 0.20:
                row["conversationId"] = ""
        if minimal:
            del row["type"], row["cseq"]
        rows.append(row)
    return rows, invite_text, invite_headers


def _day_dialogs(seed: int, day: int, per_day: float) -> tuple[list[int], list[int], int]:
    """Start times and per-dialog seeds of the dialogs started in `day`, and its badness seed."""
    rng = day_rng(seed, VENDOR, day)
    starts = sample_start_times(rng, day, per_day, TZ_OFFSET_H).tolist()
    dialog_seeds = rng.integers(0, 2**63, size=len(starts)).tolist()
    return starts, dialog_seeds, int(rng.integers(0, 2**63))


def generate_day(seed: int, day: int, per_day: float, previous_day: bool = True) -> GenesysDay:
    """The messages dated in `day`: from its dialogs, and (unless `previous_day` is False, for the
    first day of the history) from the dialogs of the day before that were still running at
    midnight. Those are re-created from their own seeds; only the day's last MAX_DIALOG_MS of
    starts can reach past midnight, so the look-back costs a few percent (quiet night hours)."""
    day_lo, day_hi = day * DAY_MS, (day + 1) * DAY_MS
    with gc_paused():
        starts, dialog_seeds, badness_seed = _day_dialogs(seed, day, per_day)
        rows: list[tuple[int, str, dict[str, str]]] = []  # (date ms, id, HomerRecord)
        conversations: dict[str, Conversation] = {}

        def add(t0: int, s: int, counter_id: int | None = None) -> tuple[_Dialog, str, dict[str, list[str]]]:
            """Generates a dialog and keeps its messages dated in the day."""
            d = _new_dialog(random.Random(s))
            msgs, invite, headers = _dialog_rows(d, t0)
            if counter_id is not None and day_lo <= int(msgs[0]["milliTs"]) < day_hi:
                msgs[0]["id"] = f"{counter_id:024d}"
            if int(msgs[-1]["milliTs"]) - t0 > MAX_DIALOG_MS:
                raise RuntimeError(f"a Genesys dialog outlasts MAX_DIALOG_MS: {d.callid} from {t0}")
            for m in msgs:
                ms = int(m["milliTs"])
                if day_lo <= ms < day_hi:
                    rows.append((ms, m["id"], m))
            return d, invite, headers

        if previous_day:
            prev_starts, prev_seeds, _ = _day_dialogs(seed, day - 1, per_day)
            for t0, s in zip(prev_starts, prev_seeds):
                if t0 >= day_lo - MAX_DIALOG_MS:
                    add(t0, s)
        for index, (t0, s) in enumerate(zip(starts, dialog_seeds)):
            counter_id = index // COUNTER_ID_EVERY if index % COUNTER_ID_EVERY == 0 else None
            d, invite, headers = add(t0, s, counter_id)
            conversations[d.conversation] = (t0, invite, headers)
        rows.sort(key=lambda x: (x[0], x[1]))
        br = random.Random(badness_seed)
        out = GenesysDay()
        out.date_ms = array("q", [x[0] for x in rows])
        out.ids = [x[1] for x in rows]
        out.callid = [x[2]["callid"] for x in rows]
        out.from_user = [x[2]["fromUser"] for x in rows]
        out.to_user = [x[2]["toUser"] for x in rows]
        out.conversation = [x[2].get("conversationId", "") for x in rows]
        out.badness = array("d", [br.random() for _ in rows])
        out.defect = bytearray(br.randrange(len(DEFECTS)) for _ in rows)
        out.records = [compact(orjson.dumps(x[2])) for x in rows]
        out.conversations = conversations
        return out
