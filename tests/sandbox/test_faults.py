"""Injected faults: each kind shows up in the affected vendor's own style, at the configured rate,
and malformed records are served and reported in the truth."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from .conftest import NOW, bandwidth_get, cinnox_get, genesys_get, genesys_token, iso

SIPTRACES = "/api/v2/telephony/siptraces"
WINDOW = dict(startAt=iso(NOW.subtract(days=1)), endAt=iso(NOW))


def three_requests(client, sb, token):
    """One request per vendor, in that order: CINNOX, Bandwidth, Genesys."""
    return (
        cinnox_get(client, sb, limit=5, **WINDOW),
        bandwidth_get(client, sb, size=5),
        genesys_get(client, sb, SIPTRACES, token, dateStart=WINDOW["startAt"], dateEnd=WINDOW["endAt"]),
    )


def test_5xx_faults_use_each_vendors_status_codes_and_error_bodies(make_sandbox, client):
    sb = make_sandbox()
    token = genesys_token(client, sb)
    sb.faults.error_5xx_rate = 1.0
    for _ in range(5):
        c, b, g = three_requests(client, sb, token)
        assert c.status_code in (500, 502, 503) and set(c.json()) == {"code", "message"}
        assert b.status_code in (500, 502, 503) and set(b.json()) == {"category", "code", "message", "details"}
        assert g.status_code in (502, 503, 504) and g.json()["status"] == g.status_code
        assert g.headers["ININ-Correlation-Id"] == g.json()["contextId"]
    assert {v: s["5xx"] for v, s in sb.stats().items()} == {"cinnox": 5, "bandwidth": 5, "genesys": 5}


def test_429_faults_follow_each_vendors_rate_limit_style(make_sandbox, client):
    sb = make_sandbox()
    token = genesys_token(client, sb)
    sb.faults.rate_429_rate = 1.0
    before = time.time()
    c, b, g = three_requests(client, sb, token)
    after = time.time()
    assert c.status_code == 429 and c.headers["Retry-After"] == "1" and c.json()["code"] == 6451010
    assert b.status_code == 429 and "Retry-After" not in b.headers
    assert (before + 1) * 1000 <= int(b.headers["X-RateLimit-Reset"]) <= (after + 1) * 1000 + 1
    assert b.json()["code"] == "rate-limit-reached"
    assert g.status_code == 429 and g.headers["Retry-After"] == "1"
    assert g.json()["code"] == "too.many.requests.retry.after"


def test_dropped_connections_close_without_a_response(make_sandbox, client):
    sb = make_sandbox(drop_rate=1.0)
    with pytest.raises(httpx.TransportError):
        cinnox_get(client, sb, **WINDOW)
    assert sb.stats()["cinnox"]["dropped"] == 1


@pytest.mark.parametrize(
    "fault, content_type",
    [
        ("html_200_rate", "text/html"),
        ("truncated_rate", "application/json"),
        ("non_json_rate", "text/plain"),
    ],
)
def test_broken_bodies_come_with_status_200_and_do_not_parse(make_sandbox, client, fault, content_type):
    sb = make_sandbox(**{fault: 1.0})
    r = bandwidth_get(client, sb, size=50)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith(content_type)
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)


def test_latency_is_added_to_every_request(make_sandbox, client):
    sb = make_sandbox(latency_ms=250)
    t = time.perf_counter()
    assert cinnox_get(client, sb, limit=1, **WINDOW).status_code == 200
    assert time.perf_counter() - t >= 0.25


def test_fault_rates_are_shares_of_requests_and_can_target_one_vendor(make_sandbox, client):
    sb = make_sandbox(error_5xx_rate=0.3)
    sb.faults.vendors = ("cinnox",)
    statuses = [cinnox_get(client, sb, limit=1, **WINDOW).status_code for _ in range(300)]
    assert 0.2 < sum(s >= 500 for s in statuses) / len(statuses) < 0.4
    assert all(bandwidth_get(client, sb, size=1).status_code == 200 for _ in range(20))


def test_malformed_records_are_served_listed_in_the_truth_and_left_out_of_its_getters(make_sandbox, client):
    sb = make_sandbox(bad_record_rate=0.05)
    start, end = NOW.subtract(days=3), NOW
    served, offset = [], 0
    while True:
        page = cinnox_get(
            client, sb, startAt=iso(start), endAt=iso(end.subtract(microseconds=1000)), offset=offset, limit=500
        ).json()["result"]
        served += page
        offset += len(page)
        if len(page) < 500:
            break
    bad = sb.truth.bad_records("cinnox", start, end)
    assert bad and {b["defect"] for b in bad} == {"missing_id", "bad_timestamp", "wrong_type", "extra_field"}
    assert served == sb.truth.cinnox_calls(start, end, include_bad=True)
    assert [b["record"] for b in bad] == [r for r in served if r in [b["record"] for b in bad]]
    good = sb.truth.cinnox_calls(start, end)
    assert len(good) + len(bad) == len(served)
    assert not any(r["id"] == b["id"] for r in good for b in bad)
    for b in bad:
        record = b["record"]
        if b["defect"] == "missing_id":
            assert "id" not in record
        elif b["defect"] == "bad_timestamp":
            assert record[b["field"]] == "2026-13-45T99:00"
        elif b["defect"] == "wrong_type":
            assert not isinstance(record[b["field"]], int)
        else:
            assert b["field"] in record
    for vendor in ("bandwidth", "genesys"):
        assert sb.truth.bad_records(vendor, start, end)
    sb.faults.bad_record_rate = 0.0
    assert sb.truth.bad_records("cinnox", start, end) == []
