"""Genesys SIP dialogs that talk through a UTC midnight: every message is served by any siptraces
query (and given by the truth) whose [dateStart, dateEnd) contains its `date`, whichever day its
dialog started on. Regression: the after-midnight messages used to be kept with the dialog's first
day and were missed by any range that did not reach back into that day."""

from __future__ import annotations

import collections

import pendulum

from .conftest import NOW, genesys_get, genesys_token, iso

SIPTRACES = "/api/v2/telephony/siptraces"
RANGE_END = NOW.start_of("day")  # 2024-05-03 00:00 UTC
RANGE_START = RANGE_END.subtract(days=4)
# With seed 1 at 400 dialogs a day, one dialog starts on 2024-04-29 and ends after midnight; the
# cap is raised so that an hour's query is never truncated; some records are served malformed.
SPANNING = dict(seed=1, genesys_dialogs_per_day=400, genesys_result_cap=100_000, bad_record_rate=0.05)


def day_of(message: dict) -> int:
    return int(message["milliTs"]) // 86_400_000


def hours(start: pendulum.DateTime, end: pendulum.DateTime) -> list[tuple[pendulum.DateTime, pendulum.DateTime]]:
    out = []
    while start < end:
        out.append((start, start.add(hours=1)))
        start = start.add(hours=1)
    return out


def spanning_dialogs(messages: list[dict]) -> dict[str, list[dict]]:
    """Call-ID -> messages, for the dialogs whose messages fall on more than one UTC day."""
    by_callid: dict[str, list[dict]] = collections.defaultdict(list)
    for m in messages:
        by_callid[m["callid"]].append(m)
    return {c: ms for c, ms in by_callid.items() if len({day_of(m) for m in ms}) > 1}


def traces(client, sb, token, start, end) -> list[dict]:
    r = genesys_get(client, sb, SIPTRACES, token, dateStart=iso(start), dateEnd=iso(end))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == len(body["data"]) < sb.limits.genesys_result_cap
    return body["data"]


def test_a_query_from_midnight_serves_the_messages_of_a_dialog_started_the_day_before(make_sandbox, client):
    sb = make_sandbox(**SPANNING)
    spanning = spanning_dialogs(sb.truth.genesys_messages(RANGE_START, RANGE_END))
    assert spanning, "the seed and volume were chosen so that a dialog spans a midnight"
    token = genesys_token(client, sb)
    for callid, messages in spanning.items():
        last = max(int(m["milliTs"]) for m in messages)
        midnight = pendulum.from_timestamp(last / 1000).start_of("day")
        after = [m for m in messages if int(m["milliTs"]) >= midnight.int_timestamp * 1000]
        assert after and len(after) < len(messages)
        window = (midnight, midnight.add(hours=1))
        served = traces(client, sb, token, *window)
        assert served == sb.truth.genesys_messages(*window, include_bad=True)
        assert {m["id"] for m in after} <= {m.get("id") for m in served}
        assert [m for m in sb.truth.genesys_messages(*window) if m["callid"] == callid] == after
        # The same from a fresh sandbox, whose only generated day is the window's.
        fresh = make_sandbox(**SPANNING)
        assert traces(client, fresh, genesys_token(client, fresh), *window) == served


def test_hour_by_hour_queries_add_up_to_the_truth_of_the_whole_range(make_sandbox, client):
    sb = make_sandbox(**SPANNING)
    token = genesys_token(client, sb)
    windows = hours(RANGE_START, RANGE_END)
    served = [m for w in windows for m in traces(client, sb, token, *w)]
    assert served == sb.truth.genesys_messages(RANGE_START, RANGE_END, include_bad=True)
    clean = sb.truth.genesys_messages(RANGE_START, RANGE_END)
    assert spanning_dialogs(clean) and len(clean) < len(served)
    assert [m for w in windows for m in sb.truth.genesys_messages(*w)] == clean
    bad = sb.truth.bad_records("genesys", RANGE_START, RANGE_END)
    assert bad and [b for w in windows for b in sb.truth.bad_records("genesys", *w)] == bad
    # A range starting at any midnight holds exactly the wider range's messages dated from then on.
    for day in range(1, 4):
        midnight = RANGE_START.add(days=day)
        keep = midnight.int_timestamp * 1000
        assert sb.truth.genesys_messages(midnight, RANGE_END) == [m for m in clean if int(m["milliTs"]) >= keep]
