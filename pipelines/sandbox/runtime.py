"""The sandbox's moving parts that every vendor endpoint consults: the frozen data clock, the
fault and limit settings, and the rate limiter."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pendulum

from .config import Faults, Limits
from .data import to_epoch_us
from .ratelimit import RateLimiter


class Clock:
    """Sandbox time: frozen, moved only by advance()/set_now(). Held as epoch ms."""

    def __init__(self, start_ms: int):
        self._ms = start_ms
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        return self._ms

    def now(self) -> pendulum.DateTime:
        ms = self._ms
        return pendulum.from_timestamp(ms // 1000, tz="UTC").add(microseconds=ms % 1000 * 1000)

    def advance(self, *, days: int = 0, hours: int = 0, minutes: int = 0, seconds: float = 0) -> pendulum.DateTime:
        with self._lock:
            self._ms = to_epoch_us(self.now().add(days=days, hours=hours, minutes=minutes, seconds=seconds)) // 1000
        return self.now()

    def advance_seconds(self, seconds: float) -> pendulum.DateTime:
        with self._lock:
            self._ms += int(round(seconds * 1000))
        return self.now()

    def set_now(self, when: object) -> pendulum.DateTime:
        with self._lock:
            self._ms = to_epoch_us(when) // 1000
        return self.now()


@dataclass
class Runtime:
    clock: Clock
    faults: Faults
    limits: Limits
    limiter: RateLimiter = field(default_factory=RateLimiter)
