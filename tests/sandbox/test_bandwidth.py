"""Bandwidth list-calls as the sandbox serves it: basic auth, Link-header paging in both orders,
validation, rate limit in Bandwidth's style, calls changing state as the clock moves, quirks."""

from __future__ import annotations

import re
import time

from .conftest import NOW, bandwidth_get

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")
EVERYTHING = (NOW.subtract(days=60), NOW.add(microseconds=1000))


def walk(client, sb, **params) -> list[dict]:
    """Follow rel="next" from the first page until there is none."""
    out, r = [], bandwidth_get(client, sb, **params)
    while True:
        assert r.status_code == 200, r.text
        out += r.json()
        nxt = r.links.get("next")
        if not nxt:
            return out
        assert nxt["url"].startswith(sb.url)
        r = bandwidth_get(client, sb, url=nxt["url"])


def test_following_next_links_ascending_returns_exactly_the_truth(shared_sandbox, client):
    served = walk(client, shared_sandbox, size=1000, sortOrder="asc")
    truth = shared_sandbox.truth.bandwidth_calls(*EVERYTHING)
    assert len(served) > 3000
    assert served == truth


def test_following_next_links_descending_returns_the_truth_reversed(shared_sandbox, client):
    served = walk(client, shared_sandbox, size=333)
    assert served == shared_sandbox.truth.bandwidth_calls(*EVERYTHING)[::-1]


def test_defaults_are_page_0_size_25_newest_first(shared_sandbox, client):
    r = bandwidth_get(client, shared_sandbox)
    page = r.json()
    assert isinstance(page, list) and len(page) == 25
    starts = [c["startTime"] for c in page]
    assert starts == sorted(starts, reverse=True)
    assert page[0] == shared_sandbox.truth.bandwidth_calls(*EVERYTHING)[-1]


def test_links_are_absolute_keep_the_query_and_stop_at_the_last_page(shared_sandbox, client):
    r = bandwidth_get(client, shared_sandbox, page=2, size=10, sortOrder="asc")
    links = r.links
    assert set(links) == {"first", "previous", "next", "last"}
    assert "page=1" in links["previous"]["url"] and "page=3" in links["next"]["url"]
    assert all("sortOrder=asc" in link["url"] and "size=10" in link["url"] for link in links.values())
    last = bandwidth_get(client, shared_sandbox, url=links["last"]["url"])
    assert last.json() and "next" not in last.links
    beyond = bandwidth_get(client, shared_sandbox, page=10**6, size=10)
    assert beyond.status_code == 200 and beyond.json() == [] and "next" not in beyond.links
    first = bandwidth_get(client, shared_sandbox, size=10)
    assert "previous" not in first.links


def test_the_trailing_slash_is_optional(shared_sandbox, client):
    creds = shared_sandbox.credentials["bandwidth"]
    base = f"{shared_sandbox.url}/v1/users/{creds['user_id']}/calls"
    a = bandwidth_get(client, shared_sandbox, url=base + "?size=5")
    b = bandwidth_get(client, shared_sandbox, url=base + "/?size=5")
    assert a.status_code == b.status_code == 200 and a.content == b.content


def test_size_over_1000_is_a_validation_error(shared_sandbox, client):
    r = bandwidth_get(client, shared_sandbox, size=1001)
    assert r.status_code == 400
    body = r.json()
    assert set(body) == {"category", "code", "message", "details"}
    assert body["code"] == "validation-error" and body["details"] == [{"name": "size", "value": "1001"}]


def test_wrong_credentials_get_401_and_another_user_gets_403(shared_sandbox, client):
    creds = shared_sandbox.credentials["bandwidth"]
    r = bandwidth_get(client, shared_sandbox, auth=(creds["api_token"], "not-the-secret"))
    assert r.status_code == 401
    assert set(r.json()) == {"category", "code", "message", "details"}
    r = bandwidth_get(client, shared_sandbox, user_id="u-someoneelse")
    assert r.status_code == 403 and r.json()["code"] == "user-access-denied"


def test_rate_limit_answers_429_with_reset_in_epoch_ms_and_no_retry_after(make_sandbox, client):
    # One request per 4 s: the second comes within that even on a machine busy with other tests.
    sb = make_sandbox(bandwidth_rps=0.25)
    assert bandwidth_get(client, sb).status_code == 200
    before = time.time()
    r = bandwidth_get(client, sb)
    after = time.time()
    assert r.status_code == 429
    assert "Retry-After" not in r.headers
    reset_ms = int(r.headers["X-RateLimit-Reset"])  # epoch milliseconds, not seconds
    assert before * 1000 < reset_ms <= (after + 4.0) * 1000 + 1
    body = r.json()
    assert body["category"] == "too-many-requests" and body["code"] == "rate-limit-reached"
    time.sleep(max(0.0, reset_ms / 1000 - time.time()) + 0.02)
    assert bandwidth_get(client, sb).status_code == 200


def test_calls_in_progress_complete_when_the_clock_passes_their_end(make_sandbox, client):
    sb = make_sandbox(bandwidth_calls_per_day=3000, history_days=2)
    recent = sb.truth.bandwidth_calls(NOW.subtract(hours=5), NOW.add(microseconds=1000))
    open_calls = {c["id"]: c for c in recent if c["state"] in ("started", "active", "transferring")}
    assert len(open_calls) >= 3
    for c in open_calls.values():
        assert "endTime" not in c and "chargeableDuration" not in c
    assert {c["state"] for c in open_calls.values()} >= {"active"}

    served_now = {c["id"]: c for c in walk(client, sb, size=1000)}
    assert all(served_now[i] == c for i, c in open_calls.items())

    sb.advance(hours=5)
    later = {c["id"]: c for c in walk(client, sb, size=1000)}
    for call_id in open_calls:
        c = later[call_id]
        assert c["state"] in ("completed", "rejected")
        assert "endTime" in c and isinstance(c["chargeableDuration"], int)


def test_sip_headers_appear_on_some_calls_with_awkward_values(shared_sandbox, client):
    calls = shared_sandbox.truth.bandwidth_calls(*EVERYTHING)
    with_headers = [c["sipHeaders"] for c in calls if "sipHeaders" in c]
    assert 0.2 < len(with_headers) / len(calls) < 0.4
    assert all(1 <= len(h) <= 5 and all(k.startswith("X-") for k in h) for h in with_headers)
    values = [v for h in with_headers for v in h.values()]
    assert all(len(v) <= 256 for v in values)
    for needle in ("=", ";", ",", '"', " "):
        assert any(needle in v for v in values), needle
    assert any("Zürich" in v for v in values) and any("東京" in v for v in values)
    zurich = next(c for c in calls if "Zürich" in "".join(c.get("sipHeaders", {}).values()))
    one = bandwidth_get(
        client,
        shared_sandbox,
        url=f"{shared_sandbox.url}/v1/users/{shared_sandbox.credentials['bandwidth']['user_id']}/calls/{zurich['id']}",
    )
    assert one.json() == zurich and "Zürich".encode() in one.content  # raw UTF-8, not \u escapes


def test_timestamps_mix_with_and_without_milliseconds_and_absent_values_are_left_out(shared_sandbox):
    calls = shared_sandbox.truth.bandwidth_calls(*EVERYTHING)
    starts = [c["startTime"] for c in calls]
    assert all(ISO.match(s) for s in starts)
    assert any("." in s for s in starts) and any("." not in s for s in starts)
    assert all(None not in c.values() for c in calls)
    rejected = [c for c in calls if c["state"] == "rejected"]
    assert rejected and all("activeTime" not in c and c["chargeableDuration"] == 0 for c in rejected)
    assert all(re.match(r"^c-[a-z2-7]{23}$", c["id"]) for c in calls)
    assert {c["direction"] for c in calls} == {"in", "out"}


def test_bridge_filter_returns_every_leg_without_paging(shared_sandbox, client):
    calls = shared_sandbox.truth.bandwidth_calls(*EVERYTHING)
    bridge = next(c["bridgeId"] for c in calls if "bridgeId" in c)
    r = bandwidth_get(client, shared_sandbox, bridgeId=bridge, size=1)
    legs = [c for c in calls if c.get("bridgeId") == bridge]
    assert len(legs) == 2 and r.json() == legs[::-1]


def test_from_filter_pages_only_matching_calls(shared_sandbox, client):
    calls = shared_sandbox.truth.bandwidth_calls(*EVERYTHING)
    number = calls[0]["from"]
    served = walk(client, shared_sandbox, size=7, sortOrder="asc", **{"from": number})
    assert served == [c for c in calls if c["from"] == number] and served
