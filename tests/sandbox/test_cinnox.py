"""CINNOX call-detail as the sandbox serves it: auth, validation, inclusive windows, offset paging,
record shape and quirks, rate limit, late calls."""

from __future__ import annotations

import collections
import re

import pendulum
import pytest

from .conftest import NOW, cinnox_get, iso

DOCUMENTED_FIELDS = {
    "id",
    "hid",
    "svcID",
    "date",
    "roomID",
    "seq",
    "type",
    "fromEID",
    "toEID",
    "fromSvcID",
    "toSvcID",
    "fromRegion",
    "callSeq",
    "callID",
    "callDirection",
    "callType",
    "fromIP",
    "callPrepareFromNum",
    "caller",
    "callee",
    "callDate",
    "callEndTime",
    "status",
    "lastResponseCode",
    "byeReason",
    "releaseParty",
    "mediaType",
    "isRecording",
    "hasAudioFile",
    "recordingEventList",
    "recordType",
    "fromRole",
    "toRole",
    "fromRoleName",
    "toRoleName",
    "fromDepartment",
    "toDepartment",
    "fromDisplayName",
    "toDisplayName",
    "lastHandledParty",
    "fromDepartmentID",
    "toDepartmentID",
    "callerFirstName",
    "callerLastName",
    "calleeFirstName",
    "calleeLastName",
}
STATUSES = {"Call Ended", "Declined", "Busy", "Not Answered", "Cancelled", "Abandoned", "Unreachable", "Call Failed"}
RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
MS = {"microseconds": 1000}


def page_all(client, sb, start, end, limit=100, **filters) -> list[dict]:
    out, offset = [], 0
    while True:
        r = cinnox_get(client, sb, startAt=iso(start), endAt=iso(end), offset=offset, limit=limit, **filters)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["code"] == 0 and set(body) == {"code", "result"}
        out += body["result"]
        offset += len(body["result"])
        if len(body["result"]) < limit:
            return out


def test_wrong_or_missing_token_gets_401_with_a_cinnox_error_body(shared_sandbox, client):
    for token in ("wrong", "cnx-demo-" + "0" * 32):
        r = cinnox_get(client, shared_sandbox, token=token, startAt=iso(NOW.subtract(hours=1)), endAt=iso(NOW))
        assert r.status_code == 401
        body = r.json()
        assert set(body) == {"code", "message"} and isinstance(body["code"], int) and body["message"]
    app_id = shared_sandbox.credentials["cinnox"]["app_id"]
    r = client.get(f"{shared_sandbox.url}/v1/api/apps/{app_id}/data/call-detail")
    assert r.status_code == 401


def test_a_token_for_another_app_is_refused_with_a_cinnox_error_body(shared_sandbox, client):
    r = cinnox_get(client, shared_sandbox, app_id="app-someoneelse")
    assert r.status_code in (403, 404)
    assert set(r.json()) == {"code", "message"}


@pytest.mark.parametrize(
    "params, message",
    [
        ({"startAt": "2024-05-01T00:00:00Z"}, "missing one of startAt, endAt"),
        ({"endAt": "2024-05-01T00:00:00Z"}, "missing one of startAt, endAt"),
        ({"startAt": "2024-05-02T00:00:00Z", "endAt": "2024-05-01T00:00:00Z"}, "endAt is prior to startAt"),
        ({"startAt": "2024-05-01", "endAt": "2024-05-02T00:00:00Z"}, "Bad query"),
        ({"startAt": "yesterday", "endAt": "today"}, "Bad query"),
        ({"offset": "-1"}, "negative offset"),
        ({"limit": "-5"}, "negative limit"),
        ({"limit": "501"}, "exceed maximum limit 500"),
        ({"offset": "ten"}, "Bad query"),
    ],
)
def test_invalid_parameters_get_400_with_code_6451000_and_the_documented_message(shared_sandbox, client, params, message):
    r = cinnox_get(client, shared_sandbox, **params)
    assert r.status_code == 400
    assert r.json() == {"code": 6451000, "message": message}


def test_offset_paging_to_the_end_returns_exactly_the_truth_in_order(shared_sandbox, client):
    start, end = NOW.subtract(days=10), NOW
    served = page_all(client, shared_sandbox, start, end, limit=97)
    truth = shared_sandbox.truth.cinnox_calls(start, end.add(**MS))  # the API's end is inclusive
    assert len(served) > 1000
    assert served == truth
    keys = [(r["callDate"], r["id"]) for r in served]
    assert keys == sorted(keys)
    assert len({r["id"] for r in served}) == len(served)


def test_the_window_is_inclusive_at_both_ends(shared_sandbox, client):
    call = shared_sandbox.truth.cinnox_calls(NOW.subtract(days=3), NOW.subtract(days=2))[5]
    t = pendulum.parse(call["callDate"])
    before = page_all(client, shared_sandbox, t.subtract(hours=1), t, limit=500)
    after = page_all(client, shared_sandbox, t, t.add(hours=1), limit=500)
    assert call["id"] in {r["id"] for r in before}
    assert call["id"] in {r["id"] for r in after}


def test_limit_defaults_to_100_and_caps_at_500(shared_sandbox, client):
    r = cinnox_get(client, shared_sandbox, startAt=iso(NOW.subtract(days=5)), endAt=iso(NOW))
    assert len(r.json()["result"]) == 100
    r = cinnox_get(client, shared_sandbox, startAt=iso(NOW.subtract(days=5)), endAt=iso(NOW), limit=500)
    assert len(r.json()["result"]) == 500


def test_call_type_and_status_filters_serve_only_matching_calls(shared_sandbox, client):
    start, end = NOW.subtract(days=4), NOW
    truth = shared_sandbox.truth.cinnox_calls(start, end.add(**MS))
    onnet = page_all(client, shared_sandbox, start, end, limit=500, callType="onnet")
    assert onnet == [r for r in truth if r["callType"] == "onnet"] and onnet
    busy = page_all(client, shared_sandbox, start, end, limit=500, status="Busy")
    assert busy == [r for r in truth if r["status"] == "Busy"] and busy


def test_records_carry_every_documented_field_with_documented_values(shared_sandbox):
    calls = shared_sandbox.truth.cinnox_calls(NOW.subtract(days=7), NOW)
    assert calls
    for r in calls:
        assert set(r) == DOCUMENTED_FIELDS
        assert RFC3339_MS.match(r["callDate"]) and RFC3339_MS.match(r["callEndTime"])
        assert r["callDate"] <= r["callEndTime"]
        assert r["status"] in STATUSES
        assert r["callDirection"] in ("Inbound", "Outbound")
        assert r["callType"] in ("onnet", "offnet", "smartcall")
        assert r["type"] == "call" and r["date"] == r["callDate"][:10].replace("-", "")
        for event in r["recordingEventList"]:
            assert set(event) == {"recorderEID", "startAt", "endAt", "code", "files"}
            assert len(event["files"]) <= 2
            for f in event["files"]:
                assert set(f) == {"id", "name", "downloadUrl", "duration", "mimeType", "size", "type", "isPrivate"}
                assert f["type"] in (2, 3) and isinstance(f["size"], int) and isinstance(f["duration"], int)
                assert "X-Amz-Signature=" in f["downloadUrl"] and "X-Amz-Expires=" in f["downloadUrl"]
    statuses = collections.Counter(r["status"] for r in calls)
    assert statuses.most_common(1)[0][0] == "Call Ended" and len(statuses) >= 6
    events = [e for r in calls for e in r["recordingEventList"]]
    assert {len(e["files"]) for e in events} >= {1, 2}
    assert {len(r["recordingEventList"]) for r in calls} >= {0, 1, 2}


def test_caller_and_callee_mix_json_numbers_plus_strings_and_leading_zeros(shared_sandbox):
    numbers = [r[k] for r in shared_sandbox.truth.cinnox_calls(NOW.subtract(days=7), NOW) for k in ("caller", "callee")]
    assert any(isinstance(n, int) for n in numbers)
    assert any(isinstance(n, str) and n.startswith("+") for n in numbers)
    assert any(isinstance(n, str) and n.startswith("0") for n in numbers)


def test_staff_come_from_a_small_roster_in_four_departments(shared_sandbox):
    calls = shared_sandbox.truth.cinnox_calls(NOW.subtract(days=7), NOW)
    staff = {(r["fromEID"], r["fromDisplayName"], r["fromDepartment"]) for r in calls if r["fromEID"]}
    staff |= {(r["toEID"], r["toDisplayName"], r["toDepartment"]) for r in calls if r["toEID"]}
    assert 10 <= len(staff) <= 20
    assert len({s[2] for s in staff}) == 4
    assert len({s[0] for s in staff}) == len(staff)  # one name and department per staff id


def test_calls_are_listed_only_after_they_end_and_late_ones_fill_past_windows(make_sandbox, client):
    sb = make_sandbox(cinnox_calls_per_day=2000)
    start, end = NOW.subtract(days=2), NOW
    before = page_all(client, sb, start, end, limit=500)
    assert all(r["callEndTime"] <= iso(NOW) for r in before)

    sb.advance(hours=36)
    after = page_all(client, sb, start, end, limit=500)
    new = {r["id"]: r for r in after}.keys() - {r["id"] for r in before}
    late = [r for r in after if r["id"] in new and r["callEndTime"] < iso(NOW.subtract(hours=1))]
    assert late, "some calls that ended well before the old clock should only now appear"
    assert after == sb.truth.cinnox_calls(start, end.add(**MS))


def test_exceeding_the_rate_limit_gets_429_with_retry_after(make_sandbox, client):
    sb = make_sandbox(cinnox_rps=0.2)
    assert cinnox_get(client, sb, limit=1).status_code == 200
    r = cinnox_get(client, sb, limit=1)
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert r.json() == {"code": 6451010, "message": "Too many requests"}
    assert sb.stats()["cinnox"]["429"] == 1
