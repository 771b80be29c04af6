"""Genesys Cloud as the sandbox serves it: OAuth client credentials with tokens that really expire,
siptraces silently capped and retention-limited, HomerRecord shape, SIP headers, rate limit."""

from __future__ import annotations

import collections
import re
import time

import httpx
import pytest

from tests import homer

from .conftest import NOW, genesys_get, genesys_token, iso

SIPTRACES = "/api/v2/telephony/siptraces"
HOMER_FIELDS = set(homer.HOMER_FIELDS)
GENESYS_ERROR_FIELDS = {"message", "code", "status", "messageWithParams", "messageParams", "contextId", "details", "errors"}


@pytest.fixture(scope="module")
def token(shared_sandbox):
    with httpx.Client() as c:
        return genesys_token(c, shared_sandbox)


def traces(client, sb, token, start, end, **filters):
    r = genesys_get(client, sb, SIPTRACES, token, dateStart=iso(start), dateEnd=iso(end), **filters)
    assert r.status_code == 200, r.text
    return r.json()


def assert_genesys_error(r, status, code):
    assert r.status_code == status
    body = r.json()
    assert GENESYS_ERROR_FIELDS <= set(body) and body["status"] == status and body["code"] == code
    assert body["contextId"] == r.headers["ININ-Correlation-Id"]


def test_client_credentials_get_a_bearer_token_and_a_wrong_secret_does_not(shared_sandbox, client):
    creds = shared_sandbox.credentials["genesys"]
    r = client.post(
        f"{shared_sandbox.url}/oauth/token", data={"grant_type": "client_credentials"}, auth=(creds["client_id"], "wrong")
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = client.post(
        f"{shared_sandbox.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(creds["client_id"], creds["client_secret"]),
    )
    body = r.json()
    assert r.status_code == 200 and body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["access_token"]


def test_api_calls_without_a_valid_token_get_401_in_genesys_shape(shared_sandbox, client):
    r = client.get(f"{shared_sandbox.url}{SIPTRACES}", params={"dateStart": iso(NOW.subtract(hours=1)), "dateEnd": iso(NOW)})
    assert_genesys_error(r, 401, "authentication.required")
    r = genesys_get(client, shared_sandbox, SIPTRACES, "not-a-token", dateStart=iso(NOW), dateEnd=iso(NOW))
    assert_genesys_error(r, 401, "bad.credentials")


def test_tokens_really_expire_after_their_ttl(make_sandbox, client):
    sb = make_sandbox(genesys_token_ttl_s=2)
    creds = sb.credentials["genesys"]
    r = client.post(
        f"{sb.url}/oauth/token", data={"grant_type": "client_credentials"}, auth=(creds["client_id"], creds["client_secret"])
    )
    assert r.json()["expires_in"] == 2
    token = r.json()["access_token"]
    window = dict(dateStart=iso(NOW.subtract(hours=1)), dateEnd=iso(NOW))
    assert genesys_get(client, sb, SIPTRACES, token, **window).status_code == 200
    time.sleep(2.2)
    assert_genesys_error(genesys_get(client, sb, SIPTRACES, token, **window), 401, "bad.credentials")
    assert genesys_get(client, sb, SIPTRACES, genesys_token(client, sb), **window).status_code == 200


def test_a_window_with_more_rows_than_the_cap_is_silently_truncated(shared_sandbox, client, token):
    start, end = NOW.subtract(days=3), NOW.subtract(days=2)
    body = traces(client, shared_sandbox, token, start, end)
    truth = shared_sandbox.truth.genesys_messages(start, end)
    assert len(truth) > 100
    assert body["count"] == len(body["data"]) == 100
    assert body["data"] == truth[:100]
    assert {"id", "status", "sid", "auth", "message", "data", "count", "selfUri"} == set(body)


def test_a_window_under_the_cap_is_complete_sorted_and_half_open(shared_sandbox, client, token):
    start = NOW.subtract(days=2).set(hour=10, minute=0, second=0)
    end = start.add(hours=1)
    body = traces(client, shared_sandbox, token, start, end)
    truth = shared_sandbox.truth.genesys_messages(start, end)
    assert 0 < body["count"] < 100 and body["data"] == truth
    keys = [(m["date"], m["id"]) for m in truth]
    assert keys == sorted(keys)
    assert all(iso(start) <= m["date"] < iso(end) for m in truth)


def test_nothing_older_than_the_retention_is_returned(shared_sandbox, client, token):
    old = traces(client, shared_sandbox, token, NOW.subtract(days=25), NOW.subtract(days=22))
    assert old["data"] == [] and old["count"] == 0
    assert shared_sandbox.truth.genesys_messages(NOW.subtract(days=25), NOW.subtract(days=22)) == []
    assert traces(client, shared_sandbox, token, NOW.subtract(days=20), NOW.subtract(days=19))["count"] > 0


@pytest.mark.parametrize(
    "params",
    [
        {"dateEnd": "2024-05-01T00:00:00.000Z"},
        {"dateStart": "2024-05-01T00:00:00.000Z"},
        {"dateStart": "1 May 2024", "dateEnd": "2024-05-02T00:00:00.000Z"},
    ],
)
def test_missing_or_malformed_dates_get_400_in_genesys_shape(shared_sandbox, client, token, params):
    assert_genesys_error(genesys_get(client, shared_sandbox, SIPTRACES, token, **params), 400, "bad.request")


def test_homer_records_are_strings_except_date_and_form_sip_dialogs(shared_sandbox):
    # A whole day: most dialogs lie whole inside it.
    day = NOW.subtract(days=2).start_of("day")
    messages = shared_sandbox.truth.genesys_messages(day, day.add(days=1))
    assert len({m["id"] for m in messages}) == len(messages)
    for m in messages:
        # Every HomerRecord field is optional: some dialogs come without `type` and `cseq`.
        assert set(m) <= HOMER_FIELDS and HOMER_FIELDS - set(m) <= {"conversationId", "type", "cseq"}
        assert ("type" in m) == ("cseq" in m)
        assert all(isinstance(v, str) for v in m.values())
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", m["date"])
        assert m["milliTs"].isdigit() and m["microTs"].isdigit() and m["sourcePort"].isdigit()
        if m.get("type", "1" if not m["method"].isdigit() else "2") == "1":
            assert m["method"] in ("INVITE", "ACK", "BYE", "CANCEL") and m["replyReason"] == ""
        else:
            assert m.get("type", "2") == "2" and m["method"].isdigit() and m["replyReason"]
    bare = {m["callid"] for m in messages if "type" not in m}
    assert 0 < len(bare) < len({m["callid"] for m in messages}) / 10
    assert any("conversationId" not in m for m in messages)
    assert any(m.get("conversationId") == "" for m in messages)
    dialogs = collections.defaultdict(list)
    for m in messages:
        dialogs[m["callid"]].append(m)
    whole = [d for d in dialogs.values() if d[0]["method"] == "INVITE" and d[-1]["method"] in ("ACK", "200")]
    assert len(whole) > 20
    assert all(6 <= len(d) <= 12 for d in whole)
    finals = {m["method"] for d in whole for m in d if m["method"].isdigit()}
    assert {"200", "487"} <= finals and finals & {"486", "503", "404", "480"}
    assert any(m["method"] == "BYE" for d in whole for m in d)
    assert any(m["method"] == "CANCEL" for d in whole for m in d)


def test_call_id_filter_returns_the_whole_dialog(shared_sandbox, client, token):
    start, end = NOW.subtract(days=2), NOW.subtract(days=1)
    some = shared_sandbox.truth.genesys_messages(start, end)[40]
    body = traces(client, shared_sandbox, token, start, end, callId=some["callid"])
    dialog = [m for m in shared_sandbox.truth.genesys_messages(start, end) if m["callid"] == some["callid"]]
    assert body["data"] == dialog


def test_headers_endpoint_serves_the_conversations_sip_headers(shared_sandbox, client, token):
    messages = shared_sandbox.truth.genesys_messages(NOW.subtract(days=2), NOW.subtract(days=1))
    conversation = next(m["conversationId"] for m in messages if m.get("conversationId"))
    path = f"/api/v2/telephony/sipmessages/conversations/{conversation}/headers"
    r = genesys_get(client, shared_sandbox, path, token)
    assert r.status_code == 200 and r.headers["ININ-Correlation-Id"]
    body = r.json()
    assert set(body) == {"id", "name", "headers", "selfUri"} and body["id"] == conversation
    assert body["headers"] == shared_sandbox.truth.genesys_headers(conversation)
    assert body["headers"]["call-id"] and all(isinstance(v, list) for v in body["headers"].values())
    assert any(len(v) > 1 for v in body["headers"].values())
    some = genesys_get(client, shared_sandbox, path, token, keys="to,FROM").json()["headers"]
    assert set(some) == {"to", "from"}
    repeated = genesys_get(client, shared_sandbox, path, token, keys=["to", "call-id"]).json()["headers"]
    assert set(repeated) == {"to", "call-id"}
    missing = genesys_get(client, shared_sandbox, "/api/v2/telephony/sipmessages/conversations/nope/headers", token)
    assert_genesys_error(missing, 404, "not.found")


def test_exceeding_the_rate_limit_gets_429_with_retry_after_in_seconds(make_sandbox, client):
    sb = make_sandbox(genesys_rpm=2)
    token = genesys_token(client, sb)
    window = dict(dateStart=iso(NOW.subtract(hours=1)), dateEnd=iso(NOW))
    assert [genesys_get(client, sb, SIPTRACES, token, **window).status_code for _ in range(2)] == [200, 200]
    r = genesys_get(client, sb, SIPTRACES, token, **window)
    assert_genesys_error(r, 429, "too.many.requests.retry.after")
    assert int(r.headers["Retry-After"]) >= 1


def test_a_pcap_export_is_acknowledged_with_an_id_and_then_a_signed_url(shared_sandbox, client, token):
    headers = {"Authorization": f"Bearer {token}"}
    r = client.post(
        f"{shared_sandbox.url}{SIPTRACES}/download",
        headers=headers,
        json={"dateStart": iso(NOW.subtract(hours=2)), "dateEnd": iso(NOW)},
    )
    assert r.status_code == 202 and set(r.json()) == {"downloadId", "documentId"}
    url = genesys_get(client, shared_sandbox, f"{SIPTRACES}/download/{r.json()['downloadId']}", token).json()
    assert url["id"] == r.json()["downloadId"] and "X-Amz-Signature=" in url["url"]
    assert_genesys_error(genesys_get(client, shared_sandbox, f"{SIPTRACES}/download/unknown", token), 404, "not.found")
    bad = client.post(f"{shared_sandbox.url}{SIPTRACES}/download", headers=headers, json={"dateStart": "x"})
    assert_genesys_error(bad, 400, "bad.request")
