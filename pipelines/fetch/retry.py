"""The one retry policy of every vendor request (API calls and the Genesys token): which answers
are retried, waited on or fatal (`classify`), and how long to back off (`RetryPolicy`, `Tries`).

A logical request keeps one `Tries`: a failure that may pass (5xx, timeout, dropped connection, a
body that is not JSON, a token endpoint's gateway page) waits a jittered, growing backoff and
counts a try; throttling (429, or a vendor's "too many requests" in a body) waits as the vendor
asks and counts a quarter of a try, so a vendor pacing us never ends a run unless it never stops.
"""

from __future__ import annotations

import enum
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from pipelines.errors import VendorError
from pipelines.settings import DEFAULT_MAX_RETRIES

THROTTLE_COST = 0.25

# Gateway and server trouble that passes; other 5xx (501 Not Implemented, 505...) will not.
RETRY_STATUS = frozenset({500, 502, 503, 504})
REJECTED_STATUS = frozenset({401, 403})
# Timeouts, refused and dropped connections: the request may not have reached the vendor at all.
RETRIED_ERRORS: tuple[type[Exception], ...] = (httpx.TransportError,)


class Answer(enum.Enum):
    """What an HTTP status asks of the caller."""

    ACCEPT = "accept"  # below 400: use the answer (its body may still be retried: not JSON, no token)
    THROTTLED = "throttled"  # 429: wait as the vendor asks, a quarter of a try
    RETRY = "retry"  # RETRY_STATUS: back off and try again, a whole try
    REJECTED = "rejected"  # 401/403: the credentials; fatal, naming the settings to check
    FATAL = "fatal"  # any other status: retrying the same request cannot help


def classify(status: int) -> Answer:
    if status < 400:
        return Answer.ACCEPT
    if status == 429:
        return Answer.THROTTLED
    if status in RETRY_STATUS:
        return Answer.RETRY
    if status in REJECTED_STATUS:
        return Answer.REJECTED
    return Answer.FATAL


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Standard `Retry-After` in seconds (the HTTP-date form is not used by these vendors)."""
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = DEFAULT_MAX_RETRIES  # tries after the first (SOURCES__<S>__MAX_RETRIES)
    backoff_base_s: float = 0.25
    backoff_max_s: float = 15.0

    def backoff(self, attempt: float, rng: random.Random) -> float:
        """Seconds before try `attempt + 1`: exponential, capped, jittered to half..full."""
        ceiling = min(self.backoff_max_s, self.backoff_base_s * (2 ** (attempt - 1)))
        return ceiling * (0.5 + rng.random() / 2)


@dataclass
class Tries:
    """The tries of one logical request against a policy.

    `on_retry` counts a retry in the caller's statistics; `sleep` is time.sleep (a hook so the
    limiter can be told about waits, and so unit tests need not wait).
    """

    policy: RetryPolicy
    vendor: str
    on_retry: Callable[[], None] = lambda: None
    on_throttle: Callable[[], None] = lambda: None
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    attempt: float = 0

    def failed(self, what: str) -> None:
        """A failure that may pass: wait and return, or raise once the retries are used up.

        `what` completes "<vendor>: <what> after N tries"."""
        self.attempt += 1
        if self.attempt > self.policy.max_retries:
            raise VendorError(self.vendor, f"{what} after {int(self.attempt)} tries")
        self.on_retry()
        self.sleep(self.policy.backoff(self.attempt, self.rng))

    def throttled(self, what: str, wait_s: float | None = None) -> float:
        """The vendor asked us to slow down: the seconds to wait (its hint, else a backoff).

        Each wait costs a quarter of a try and raises past `max_retries * 4` tries, so only
        throttling that never stops (~16 waits per retry allowed) ends a request."""
        self.on_throttle()
        wait = wait_s if wait_s is not None else self.policy.backoff(self.attempt + 1, self.rng)
        self.attempt += THROTTLE_COST
        if self.attempt > self.policy.max_retries / THROTTLE_COST:
            raise VendorError(self.vendor, f"{what}: still rate limited after many waits")
        return wait
