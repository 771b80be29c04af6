"""Genesys Cloud OAuth client credentials: one cached bearer token shared by every request.

The token endpoint lives on the login host (`login.` where the API host has `api.`), not behind
the API's rate limit, so it gets its own small client; its answers are classified and retried as
every API request's are (`pipelines.fetch.retry`).
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Generator
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson

from pipelines.errors import VendorAuthError
from pipelines.fetch.http import RequestStats
from pipelines.fetch.retry import RETRIED_ERRORS, Answer, RetryPolicy, Tries, classify, retry_after_seconds

from .settings import NAME, TOKEN_PATH


def default_login_url(base_url: str) -> str:
    """`https://api.mypurecloud.ie` -> `https://login.mypurecloud.ie`; other hosts are kept as is
    (a proxy or a test server answers both)."""
    parts = urlsplit(base_url.rstrip("/"))
    host = parts.netloc
    if host.startswith("api."):
        host = "login." + host[len("api.") :]
    return urlunsplit(parts._replace(netloc=host))


class ClientCredentials(httpx.Auth):
    """Bearer token from `POST {login_url}/oauth/token` (grant_type=client_credentials).

    Renewed ahead of expiry, and once more when the API answers 401: a token can expire between
    our clock check and the vendor's. Threads share the token; one renews while the others wait.
    """

    def __init__(
        self,
        login_url: str,
        client_id: str,
        client_secret: str,
        retry: RetryPolicy,
        credentials_hint: str,
        timeout_s: float = 30.0,
    ):
        self.retry = retry
        self.credentials_hint = credentials_hint
        self.token_url = login_url.rstrip("/") + TOKEN_PATH
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self._basic = f"Basic {basic}"
        self._secret = client_secret
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self.stats = RequestStats()
        self._http = httpx.Client(timeout=httpx.Timeout(timeout_s, connect=10.0), follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    # -- httpx.Auth ----------------------------------------------------------------------------
    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            # Once only: a second 401 goes back to VendorClient, which reports the credentials.
            request.headers["Authorization"] = f"Bearer {self.token(stale=token)}"
            yield request

    # -- the token -----------------------------------------------------------------------------
    def token(self, stale: str | None = None) -> str:
        """The current token; a new one when it is (nearly) expired or equals `stale`."""
        with self._lock:
            if self._token is None or self._token == stale or time.monotonic() >= self._renew_at:
                self._token, self._renew_at = self._fetch()
            return self._token

    def _fetch(self) -> tuple[str, float]:
        tries = Tries(self.retry, NAME, on_retry=lambda: self.stats.add(retries=1))
        while True:
            self.stats.add(requests=1)
            try:
                response = self._http.post(
                    self.token_url,
                    headers={"Authorization": self._basic, "Accept": "application/json"},
                    data={"grant_type": "client_credentials"},
                )
            except RETRIED_ERRORS as exc:
                tries.failed(f"token request failed: {type(exc).__name__}")
                continue
            status = response.status_code
            answer = classify(status)
            if answer is Answer.ACCEPT:
                accepted = self._accept(response)
                if accepted is not None:
                    return accepted
                tries.failed(f"token request: HTTP {status} no token in the answer")  # a gateway page, not a token
            elif answer is Answer.THROTTLED:
                time.sleep(tries.throttled("token request", retry_after_seconds(response)))
            elif answer is Answer.RETRY:
                tries.failed(f"token request: HTTP {status} {self._error_text(response)}")
            else:
                # Rejected or fatal alike: OAuth reports a wrong client id or secret as 400 or 401
                # `invalid_client` (RFC 6749 §5.2); any other refusal here is also about the OAuth
                # client's set-up.
                raise VendorAuthError(
                    NAME, f"OAuth client rejected (HTTP {status}: {self._error_text(response)}); check {self.credentials_hint}"
                )

    def _accept(self, response: httpx.Response) -> tuple[str, float] | None:
        """(token, when to renew it), or None when the body is not a token."""
        try:
            body = orjson.loads(response.content)
            token, expires_in = str(body["access_token"]), float(body.get("expires_in") or 0)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None
        # Renew a tenth of the lifetime early (at most a minute): requests in flight when it
        # runs out would otherwise all meet a 401 together.
        margin = min(60.0, expires_in / 10)
        return token, time.monotonic() + max(0.0, expires_in - margin)

    def _error_text(self, response: httpx.Response) -> str:
        try:
            body = orjson.loads(response.content)
            text = " ".join(str(body.get(k)) for k in ("error", "error_description", "description", "message") if body.get(k))
        except Exception:
            text = response.text[:200]
        text = " ".join(text.split())[:200] or "no details"
        return text.replace(self._secret, "***") if self._secret else text
