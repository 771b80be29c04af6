"""The one HTTP client: what is retried and how often, how a vendor's "slow down" is honoured, what an
error line says (and never says), pacing; and the retry policy's backoff and limits.

A real HTTP server on 127.0.0.1 answers from a per-test script, so every test runs the real httpx
client over a socket; backoffs are kept to milliseconds by the policy passed in.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from pipelines.errors import VendorAuthError, VendorError
from pipelines.fetch.decoding import Undecodable
from pipelines.fetch.http import VendorClient
from pipelines.fetch.retry import RetryPolicy, Tries

FAST = RetryPolicy(max_retries=3, backoff_base_s=0.001, backoff_max_s=0.01)
DROP = "drop the connection without answering"
OK = (200, {}, {"ok": True})


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Vendor:
    """Serves `script` entries in order: (status, headers, body) or DROP. body: dict/list -> JSON."""

    script: list[Any] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, *entries: Any) -> Vendor:
        self.script.extend(entries)
        return self

    def next(self, seen: Seen) -> Any:
        with self.lock:
            self.seen.append(seen)
            return self.script.pop(0) if self.script else (418, {}, "script exhausted")


def _handler(vendor: Vendor) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            entry = vendor.next(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
            if entry == DROP:
                self.close_connection = True
                return
            status, headers, body = entry
            if isinstance(body, (dict, list)):
                payload, kind = json.dumps(body).encode(), "application/json"
            elif isinstance(body, bytes):  # served as given: JSON no encoder would write
                payload, kind = body, "application/json"
            else:
                payload, kind = str(body).encode(), "text/plain"
            self.send_response(status)
            headers = {"Content-Type": kind, **headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def vendor() -> Iterator[Vendor]:
    state = Vendor()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def client(vendor: Vendor, tmp_path, monkeypatch) -> Iterator[Any]:
    # Plain HTTP on loopback needs no CA bundle: an empty CA directory spares httpx reading certifi's
    # bundle for each client (~50 ms). The client itself is untouched.
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    made: list[VendorClient] = []

    def make(**options: Any) -> VendorClient:
        options.setdefault("retry", FAST)
        made.append(VendorClient("acme", vendor.url, **options))
        return made[-1]

    yield make
    for each in made:
        each.close()


# --- success and retries ------------------------------------------------------------------------


def test_a_json_answer_is_parsed_and_counted(vendor, client):
    vendor.answer((200, {}, {"calls": [1, 2]}))
    api = client(headers={"X-Api-Key": "k1"})
    body, response = api.get_json("/v1/calls", params={"from": "2026-11-01"})
    assert body == {"calls": [1, 2]}
    assert response.status_code == 200
    assert api.stats.as_dict() == {"requests": 1, "retries": 0, "throttled": 0}
    assert vendor.seen[0].path == "/v1/calls?from=2026-11-01"
    assert vendor.seen[0].headers["accept"] == "application/json"
    assert vendor.seen[0].headers["x-api-key"] == "k1"


def test_a_503_then_200_is_retried_once(vendor, client):
    vendor.answer((503, {}, "busy"), OK)
    api = client()
    body, _ = api.get_json("/calls")
    assert body == {"ok": True}
    assert api.stats.as_dict() == {"requests": 2, "retries": 1, "throttled": 0}


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_past_max_retries_fail_after_every_try(vendor, client, status):
    vendor.answer(*[(status, {}, "upstream  busy\n")] * 5)
    api = client(retry=RetryPolicy(max_retries=2, backoff_base_s=0.001, backoff_max_s=0.01))
    with pytest.raises(VendorError) as raised:
        api.get_json("/calls?page=2")
    assert str(raised.value) == f"acme: GET /calls: HTTP {status} upstream busy after 3 tries"
    assert raised.value.vendor == "acme"
    assert api.stats.as_dict() == {"requests": 3, "retries": 2, "throttled": 0}
    assert len(vendor.seen) == 3


def test_a_dropped_connection_is_retried(vendor, client):
    vendor.answer(DROP, OK)
    api = client()
    assert api.get_json("/calls")[0] == {"ok": True}
    assert api.stats.as_dict() == {"requests": 2, "retries": 1, "throttled": 0}


def test_dropped_connections_past_max_retries_name_the_transport_error(vendor, client):
    vendor.answer(DROP, DROP)
    api = client(retry=RetryPolicy(max_retries=1, backoff_base_s=0.001, backoff_max_s=0.01))
    with pytest.raises(VendorError) as raised:
        api.get_json("/calls")
    assert str(raised.value) == (
        "acme: GET /calls: RemoteProtocolError: Server disconnected without sending a response. after 2 tries"
    )


def test_a_200_with_an_html_body_is_retried_as_not_json(vendor, client):
    vendor.answer((200, {"Content-Type": "text/html"}, "<html>gateway</html>"), OK)
    api = client()
    assert api.get_json("/calls")[0] == {"ok": True}
    assert api.stats.as_dict() == {"requests": 2, "retries": 1, "throttled": 0}


def test_html_bodies_past_max_retries_say_the_response_is_not_json(vendor, client):
    vendor.answer(*[(200, {"Content-Type": "text/html"}, "<html>gateway</html>")] * 2)
    api = client(retry=RetryPolicy(max_retries=1, backoff_base_s=0.001, backoff_max_s=0.01))
    with pytest.raises(VendorError) as raised:
        api.get_json("/calls")
    assert str(raised.value) == "acme: GET /calls: response is not JSON (text/html, 20 bytes) after 2 tries"


@pytest.mark.parametrize(
    ("bad", "escaped", "what"),
    [(b"\\ud800", "\\ud800", "a lone surrogate (\\ud800)"), (b"\xff", "\\xff", "a byte that is not UTF-8 (0xff)")],
    ids=["lone-surrogate", "invalid-utf8"],
)
def test_a_record_that_cannot_be_decoded_is_set_aside_and_the_rest_of_the_body_kept(vendor, client, bad, escaped, what):
    # Genesys's shape ({"data": [...]}); CINNOX's and Bandwidth's run end to end in
    # tests/sources/test_unstorable_text.py.
    body = b'{"count": 3, "data": [{"id": "1"}, {"id": "2", "to": {"uri": "sip:@@"}, "n": [1]}, {"id": "3"}]}'
    vendor.answer((200, {}, body.replace(b"@@", bad)))
    api = client()
    decoded, _ = api.get_json("/siptraces")
    assert decoded == {
        "count": 3,
        "data": [
            {"id": "1"},
            Undecodable({"id": "2", "to": {"uri": f"sip:{escaped}"}, "n": [1]}, f"to.uri: text is not valid Unicode: {what}"),
            {"id": "3"},
        ],
    }
    assert api.stats.as_dict() == {"requests": 1, "retries": 0, "throttled": 0}


def test_text_that_cannot_be_decoded_outside_any_record_is_retried_as_not_json(vendor, client):
    vendor.answer((200, {}, b'{"message": "\\ud800", "data": []}'), OK)
    api = client()
    assert api.get_json("/siptraces")[0] == {"ok": True}
    assert api.stats.as_dict() == {"requests": 2, "retries": 1, "throttled": 0}


def test_request_returns_a_non_json_answer_as_it_is(vendor, client):
    vendor.answer((200, {"Content-Type": "audio/wav"}, "RIFF"))
    response = client().request("GET", "/recordings/1.wav")
    assert response.content == b"RIFF"


# --- errors that are not retried ----------------------------------------------------------------


def test_a_404_fails_at_once_with_its_status(vendor, client):
    vendor.answer((404, {}, "no such call"), OK)
    api = client()
    with pytest.raises(VendorError) as raised:
        api.get_json("/calls/42")
    assert type(raised.value) is VendorError
    assert raised.value.status == 404
    assert str(raised.value) == "acme: GET /calls/42: HTTP 404 no such call"
    assert api.stats.as_dict() == {"requests": 1, "retries": 0, "throttled": 0}


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_credentials_name_the_settings_to_check(vendor, client, status):
    vendor.answer((status, {}, {"error": "bad key"}), OK)
    api = client(auth_hint="SOURCES__ACME__API_KEY")
    with pytest.raises(VendorAuthError) as raised:
        api.get_json("/calls")
    assert str(raised.value) == (
        f'acme: credentials rejected (HTTP {status}: {{"error": "bad key"}}); check SOURCES__ACME__API_KEY'
    )
    assert len(vendor.seen) == 1


def test_the_error_text_hook_words_the_vendor_error(vendor, client):
    vendor.answer((400, {}, {"error": {"code": 17, "message": "bad   window\nsize"}}))
    api = client(error_text=lambda r: r.json()["error"]["message"])
    with pytest.raises(VendorError) as raised:
        api.get_json("/calls")
    assert str(raised.value) == "acme: GET /calls: HTTP 400 bad window size"


def test_a_failing_error_text_hook_falls_back_to_the_body(vendor, client):
    vendor.answer((400, {}, "plain words"))
    api = client(error_text=lambda r: r.json()["error"])
    with pytest.raises(VendorError) as raised:
        api.get_json("/calls")
    assert str(raised.value) == "acme: GET /calls: HTTP 400 plain words"


def test_error_bodies_are_cut_to_200_characters(vendor, client):
    vendor.answer((400, {}, "x" * 500))
    with pytest.raises(VendorError) as raised:
        client().get_json("/calls")
    assert str(raised.value) == "acme: GET /calls: HTTP 400 " + "x" * 200


def test_secrets_echoed_by_the_vendor_are_redacted_from_errors(vendor, client):
    vendor.answer((500, {}, "key sk-live-9 is not valid for account acct-7"))
    api = client(retry=RetryPolicy(max_retries=0), secrets=("sk-live-9", "acct-7", ""))
    with pytest.raises(VendorError) as raised:
        api.get_json("/calls")
    assert str(raised.value) == "acme: GET /calls: HTTP 500 key *** is not valid for account *** after 1 tries"


def test_secrets_are_redacted_from_credential_errors(vendor, client):
    vendor.answer((401, {}, "token sk-live-9 expired"))
    api = client(secrets=("sk-live-9",), auth_hint="SOURCES__ACME__TOKEN")
    with pytest.raises(VendorAuthError) as raised:
        api.get_json("/calls")
    assert str(raised.value) == "acme: credentials rejected (HTTP 401: token *** expired); check SOURCES__ACME__TOKEN"


# --- throttling -------------------------------------------------------------------------------


def test_a_429_is_waited_on_and_counted_as_throttled_not_as_a_retry(vendor, client):
    vendor.answer((429, {"Retry-After": "0"}, "slow down"), OK)
    api = client()
    assert api.get_json("/calls")[0] == {"ok": True}
    assert api.stats.as_dict() == {"requests": 2, "retries": 0, "throttled": 1}


def test_a_429_waits_as_long_as_retry_after_says(vendor, client):
    vendor.answer((429, {"Retry-After": "0.1"}, ""), OK)
    api = client()
    started = time.monotonic()
    api.get_json("/calls")
    assert time.monotonic() - started >= 0.09


def test_the_wait_hint_hook_is_used_instead_of_retry_after(vendor, client):
    vendor.answer((429, {"Retry-After": "0", "X-Reset-Ms": "100"}, ""), OK)
    hinted: list[int] = []

    def wait_hint(response):
        hinted.append(response.status_code)
        return int(response.headers["X-Reset-Ms"]) / 1000

    api = client(wait_hint=wait_hint)
    started = time.monotonic()
    assert api.get_json("/calls")[0] == {"ok": True}
    assert time.monotonic() - started >= 0.09
    assert hinted == [429]
    assert api.stats.as_dict() == {"requests": 2, "retries": 0, "throttled": 1}


def test_a_wait_hint_of_none_falls_back_to_retry_after(vendor, client):
    vendor.answer((429, {"Retry-After": "0.1"}, ""), OK)
    api = client(wait_hint=lambda response: None)
    started = time.monotonic()
    api.get_json("/calls")
    assert time.monotonic() - started >= 0.09


def test_a_throttled_body_is_waited_on_and_the_next_answer_returned(vendor, client):
    vendor.answer((200, {}, {"code": 4290, "message": "too many requests"}), (200, {}, {"calls": []}))
    api = client(throttled_body=lambda body: isinstance(body, dict) and body.get("code") == 4290)
    body, _ = api.get_json("/calls")
    assert body == {"calls": []}
    assert api.stats.as_dict() == {"requests": 2, "retries": 0, "throttled": 1}


def test_a_vendor_that_never_stops_throttling_ends_the_request(vendor, client):
    vendor.answer(*[(429, {"Retry-After": "0"}, "")] * 3)
    api = client(retry=RetryPolicy(max_retries=0))
    with pytest.raises(VendorError) as raised:
        api.get_json("/calls")
    assert str(raised.value) == "acme: GET /calls: still rate limited after many waits"
    assert api.stats.as_dict() == {"requests": 1, "retries": 0, "throttled": 1}


# --- pacing -------------------------------------------------------------------------------------


def test_requests_are_spaced_by_the_rate_limit(vendor, client):
    vendor.answer(*[OK] * 5)
    api = client(requests_per_second=20)
    started = time.monotonic()
    for _ in range(5):
        api.get_json("/calls")
    # five requests at 20/s: four intervals of 50 ms at least (the lower bound only)
    assert time.monotonic() - started >= 4 * 0.05 * 0.95


# --- the retry policy ---------------------------------------------------------------------------


class Fixed(random.Random):
    def __init__(self, value: float):
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


@pytest.mark.parametrize("attempt, ceiling", [(1, 0.25), (2, 0.5), (3, 1.0), (5, 4.0), (7, 15.0), (30, 15.0)])
def test_backoff_doubles_per_attempt_up_to_the_cap_jittered_to_half_or_more(attempt, ceiling):
    policy = RetryPolicy()
    assert policy.backoff(attempt, Fixed(0.0)) == ceiling / 2
    assert policy.backoff(attempt, Fixed(0.999999)) == pytest.approx(ceiling, rel=1e-5)
    rng = random.Random(12)
    assert all(ceiling / 2 <= policy.backoff(attempt, rng) <= ceiling for _ in range(200))


def test_backoff_is_capped_at_backoff_max():
    policy = RetryPolicy(backoff_base_s=1.0, backoff_max_s=3.0)
    assert [policy.backoff(n, Fixed(0.0)) for n in (1, 2, 3, 4, 10)] == [0.5, 1.0, 1.5, 1.5, 1.5]


def test_failed_tries_sleep_a_backoff_and_raise_after_max_retries():
    slept: list[float] = []
    retries: list[int] = []
    tries = Tries(
        RetryPolicy(max_retries=2, backoff_base_s=1.0, backoff_max_s=10.0),
        "acme",
        on_retry=lambda: retries.append(1),
        sleep=slept.append,
        rng=Fixed(0.0),
    )
    tries.failed("GET /calls: HTTP 503")
    tries.failed("GET /calls: HTTP 503")
    with pytest.raises(VendorError) as raised:
        tries.failed("GET /calls: HTTP 503")
    assert str(raised.value) == "acme: GET /calls: HTTP 503 after 3 tries"
    assert slept == [0.5, 1.0]
    assert len(retries) == 2


def test_throttled_returns_the_vendor_hint_else_a_backoff():
    throttles: list[int] = []
    tries = Tries(RetryPolicy(backoff_base_s=1.0), "acme", on_throttle=lambda: throttles.append(1), rng=Fixed(0.0))
    assert tries.throttled("GET /calls", 7.5) == 7.5
    # a throttle counts a quarter try: the backoff of attempt 1.25, at the low end of its jitter
    assert tries.throttled("GET /calls") == pytest.approx(1.0 * 2**0.25 / 2)
    assert len(throttles) == 2
    assert tries.attempt == 0.5


def test_throttling_gives_up_at_once_when_no_retries_are_allowed():
    tries = Tries(RetryPolicy(max_retries=0), "acme", sleep=lambda s: None)
    with pytest.raises(VendorError) as raised:
        tries.throttled("GET /calls", 0.0)
    assert str(raised.value) == "acme: GET /calls: still rate limited after many waits"


def test_throttling_costs_a_quarter_try_and_gives_up_only_after_max_retries_times_four_tries():
    # Behaviour kept from before the retry policy was shared: 2 retries allow 2 * 4 tries of
    # throttling, each wait a quarter of a try, so 32 waits; the 33rd gives up.
    tries = Tries(RetryPolicy(max_retries=2), "acme", sleep=lambda s: None)
    for _ in range(32):
        assert tries.throttled("GET /calls", 0.0) == 0.0
    with pytest.raises(VendorError, match="still rate limited"):
        tries.throttled("GET /calls", 0.0)


@pytest.mark.parametrize(
    "printed",
    [
        "Illegal header value b'Bearer T\\xc3\\xb6k\\r42'",  # httpx: the header as bytes repr
        "token 'Tök\\r42' rejected",  # repr of the str
        "token T\\xf6k\\r42",  # unicode_escape
        "url ?token=T%C3%B6k%0D42",  # URL-quoted
        "plain Tök\r42 here",
    ],
)
def test_a_secret_is_redacted_in_every_form_a_library_prints_it(printed):
    client = VendorClient(vendor="acme", base_url="http://127.0.0.1:9", secrets=("Tök\r42",))
    try:
        redacted = client.redact(printed)
    finally:
        client.close()
    assert "***" in redacted
    assert "42" not in redacted.replace("***", "")
