"""The one HTTP client every source uses: timeouts, retries, rate limits, 429 handling, redaction.

Vendor quirks (how a vendor says "wait", how it words errors) come in as small hooks from the
vendor's package; everything shared lives here once.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from pipelines.errors import VendorAuthError, VendorError
from pipelines.fetch.decoding import NotJSON, decode_leniently, may_hold_rounded_integers
from pipelines.fetch.retry import RETRIED_ERRORS, Answer, RetryPolicy, Tries, classify, retry_after_seconds

log = logging.getLogger("callhouse.http")


@dataclass
class RequestStats:
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        return {"requests": self.requests, "retries": self.retries, "throttled": self.throttled}


class RateLimiter:
    """Spaces requests at least 1/rate apart across threads; a 429 pushes everyone back."""

    # Arrival jitter on loopback is a few ms: a small margin keeps us under a strict server limit.
    MARGIN = 1.03

    def __init__(self, per_second: float | None):
        self.interval = (1.0 / per_second) * self.MARGIN if per_second else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)

    def hold_until(self, monotonic_deadline: float) -> None:
        with self._lock:
            self._next = max(self._next, monotonic_deadline)


@dataclass
class VendorClient:
    """An httpx client bound to one vendor.

    `wait_hint(response)` returns seconds to wait after a 429 when the vendor does not use
    Retry-After; `error_text(response)` turns the vendor's error body into one short line;
    `throttled_body(body)` tells a JSON body that means "too many requests" despite its status;
    `auth_hint` names the settings to check when the vendor rejects the credentials.
    """

    vendor: str
    base_url: str
    auth: httpx.Auth | None = None
    headers: dict[str, str] = field(default_factory=dict)
    requests_per_second: float | None = None
    retry: RetryPolicy = RetryPolicy()
    timeout_s: float = 60.0
    max_connections: int = 8
    wait_hint: Callable[[httpx.Response], float | None] | None = None
    error_text: Callable[[httpx.Response], str] | None = None
    throttled_body: Callable[[object], bool] | None = None
    auth_hint: str = "credentials"
    secrets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.stats = RequestStats()
        self.limiter = RateLimiter(self.requests_per_second)
        self._client = httpx.Client(
            base_url=self.base_url.rstrip("/"),
            auth=self.auth,
            headers={"Accept": "application/json", **self.headers},
            timeout=httpx.Timeout(self.timeout_s, connect=10.0),
            limits=httpx.Limits(max_connections=self.max_connections, max_keepalive_connections=self.max_connections),
            follow_redirects=False,
        )
        self._rng = random.Random()

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> VendorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def redact(self, text: str) -> str:
        """`text` without any form of a secret a library may print: as is, escaped (`\\r`, as
        in `repr` of bytes or str) or URL-quoted."""
        for secret in self.secrets:
            if secret:
                for form in _printed_forms(secret):
                    text = text.replace(form, "***")
        return text

    def get_json(self, url: str, params: dict[str, Any] | None = None) -> tuple[Any, httpx.Response]:
        """GET and parse JSON; a 200 whose body is not JSON (HTML error page, cut body) is retried.
        A record holding text that is not valid Unicode comes back as a decoding.Undecodable."""
        return self.request_json("GET", url, params=params)

    def request_json(self, method: str, url: str, **kwargs: Any) -> tuple[Any, httpx.Response]:
        tries = self.tries()
        while True:
            response = self._request(method, url, tries, **kwargs)
            try:
                body = orjson.loads(response.content)
                if may_hold_rounded_integers(response.content):
                    body = _decoded_leniently(response.content, self.vendor)
            except orjson.JSONDecodeError:
                body = _decoded_leniently(response.content, self.vendor)
            if body is _NOT_JSON:
                what = f"{response.headers.get('content-type', 'unknown type')}, {len(response.content)} bytes"
                log.debug("%s: body not JSON (%s), retrying", self.vendor, what)
                tries.failed(f"{method} {_path(url)}: response is not JSON ({what})")
                continue
            if self.throttled_body is not None and self.throttled_body(body):
                # Throttling said in the body of a non-429 answer (CINNOX): wait as for a 429.
                time.sleep(tries.throttled(f"{method} {_path(url)}"))
                continue
            return body, response

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One logical request: retried on 5xx, timeouts and dropped connections; 429 honoured."""
        return self._request(method, url, self.tries(), **kwargs)

    def tries(self) -> Tries:
        return Tries(
            self.retry,
            self.vendor,
            on_retry=lambda: self.stats.add(retries=1),
            on_throttle=lambda: self.stats.add(throttled=1),
            rng=self._rng,
        )

    def _request(self, method: str, url: str, tries: Tries, **kwargs: Any) -> httpx.Response:
        while True:
            self.limiter.wait()
            self.stats.add(requests=1)
            try:
                response = self._client.request(method, url, **kwargs)
            except RETRIED_ERRORS as exc:
                tries.failed(f"{method} {_path(url)}: {self.redact(_describe(exc))}")
                continue
            status = response.status_code
            answer = classify(status)
            if answer is Answer.ACCEPT:
                return response
            if answer is Answer.THROTTLED:
                hint = self.wait_hint(response) if self.wait_hint else None
                wait = tries.throttled(f"{method} {_path(url)}", hint if hint is not None else retry_after_seconds(response))
                self.limiter.hold_until(time.monotonic() + wait)
                continue
            if answer is Answer.RETRY:
                tries.failed(f"{method} {_path(url)}: HTTP {status} {self._error_text(response)}")
                continue
            if answer is Answer.REJECTED:
                raise VendorAuthError(
                    self.vendor,
                    f"credentials rejected (HTTP {status}: {self._error_text(response)}); check {self.auth_hint}",
                )
            raise VendorError(self.vendor, f"{method} {_path(url)}: HTTP {status} {self._error_text(response)}", status=status)

    def _error_text(self, response: httpx.Response) -> str:
        try:
            text = self.error_text(response) if self.error_text else response.text[:200]
        except Exception:
            text = response.text[:200]
        return self.redact(" ".join(str(text).split()))


_NOT_JSON = object()


def _decoded_leniently(content: bytes, vendor: str) -> Any:
    """A body orjson refused: records holding text that is not valid Unicode set aside (they are
    quarantined, the rest of the page loads), or _NOT_JSON for a body that is not JSON at all."""
    try:
        body = decode_leniently(content)
    except NotJSON as exc:
        log.debug("%s: body not JSON: %s", vendor, exc)
        return _NOT_JSON
    log.debug("%s: body decoded by Python's json (text that is not valid Unicode, or long integers)", vendor)
    return body


def _printed_forms(secret: str) -> list[str]:
    forms = {secret, secret.encode("unicode_escape").decode("ascii"), repr(secret)[1:-1], quote(secret, safe="")}
    forms.add(repr(secret.encode("utf-8"))[2:-1])
    return sorted((f for f in forms if f), key=len, reverse=True)


def _path(url: str) -> str:
    """Path without the query: queries here carry no secrets, but keep lines short."""
    return httpx.URL(url).path if "://" in url else url.split("?")[0]


def _describe(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text
