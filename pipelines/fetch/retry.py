"""The one retry and backoff policy of every vendor request (API calls and the Genesys token).

A logical request keeps one `Tries`: a failure that may pass (5xx, timeout, dropped connection, a
body that is not JSON, a token endpoint's gateway page) waits a jittered, growing backoff and
counts a try; throttling (429, or a vendor's "too many requests" in a body) waits as the vendor
asks and counts a quarter of a try, so a vendor pacing us never ends a run unless it never stops.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pipelines.errors import VendorError

THROTTLE_COST = 0.25


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 8  # tries after the first (SOURCES__<S>__MAX_RETRIES)
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
