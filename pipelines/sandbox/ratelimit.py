"""Token buckets on the wall clock, one per credential: rate limits are about real request
pacing, so they ignore the sandbox's frozen data clock."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at monotonic)
        self._lock = threading.Lock()

    def take(self, key: str, per_second: float | None, burst: float) -> float:
        """0.0 if the request may go now, else the seconds until one may."""
        if per_second is None or per_second <= 0:
            return 0.0
        burst = max(1.0, burst)
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(key, (burst, now))
            tokens = min(burst, tokens + (now - at) * per_second)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / per_second
