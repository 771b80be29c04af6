"""Deterministic building blocks shared by the three vendors' data: seeds, day volumes, time
formats, ids and the lazily generated per-day cache.

Everything is derived from sha256 of (seed, vendor, day), never Python's salted hash(), so the
same seed gives the same bytes in every process.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import gc
import hashlib
import json
import math
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

import numpy as np
import orjson
import pendulum

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
_EPOCH_DAY0 = dt.date(1970, 1, 1)


def derive_seed(*parts: object) -> int:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def day_rng(seed: int, vendor: str, day: int) -> np.random.Generator:
    return np.random.default_rng(derive_seed(seed, vendor, day))


# --- volume over time -------------------------------------------------------------------------


def _hour_weight(weekday: int, hour: int) -> float:
    """Relative call rate in the vendor's local time: office hours on weekdays dominate."""
    if weekday < 5:
        if 8 <= hour < 18:
            return 3.0
        if hour in (7, 18, 19):
            return 1.2
        return 0.25
    if 9 <= hour < 17:
        return 0.9
    return 0.15


_WEEK_MEAN_DAY = sum(_hour_weight(d, h) for d in range(7) for h in range(24)) / 7


def hour_weights(day: int, tz_offset_h: int) -> np.ndarray:
    """Weights of the 24 UTC hours of `day`, scaled so a week of days averages 1.0 per day."""
    w = np.empty(24)
    for h in range(24):
        local_h = h + tz_offset_h
        local_day = day + local_h // 24
        # 1970-01-01 was a Thursday (weekday 3).
        w[h] = _hour_weight((local_day + 3) % 7, local_h % 24)
    return w / _WEEK_MEAN_DAY


def sample_start_times(rng: np.random.Generator, day: int, mean_per_day: float, tz_offset_h: int) -> np.ndarray:
    """Sorted epoch-ms start times of one UTC day's calls: Poisson around the weekly profile,
    times drawn per hour from that hour's weight, so peaks and quiet nights both show."""
    w = hour_weights(day, tz_offset_h)
    # Day-to-day swing beyond Poisson noise (weather, campaigns, holidays).
    expected = mean_per_day * w.sum() * rng.lognormal(0.0, 0.12)
    n = int(rng.poisson(expected)) if mean_per_day > 0 else 0
    hours = rng.choice(24, size=n, p=w / w.sum())
    offsets = rng.integers(0, HOUR_MS, size=n)
    starts = day * DAY_MS + hours.astype(np.int64) * HOUR_MS + offsets
    starts.sort()
    return starts


# --- time formats -----------------------------------------------------------------------------

_date_prefix_cache: dict[int, str] = {}
# Lookup tables make formatting a few string concatenations: these run ~5 times per record.
_HMS = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)]
_MILLI_Z = [f".{m:03d}Z" for m in range(1000)]


def _date_prefix(day: int) -> str:
    p = _date_prefix_cache.get(day)
    if p is None:
        p = _date_prefix_cache[day] = (_EPOCH_DAY0 + dt.timedelta(days=day)).isoformat() + "T"
    return p


def iso_ms(ms: int) -> str:
    """'2024-05-01T13:15:47.587Z' from epoch milliseconds."""
    day, rest = divmod(ms, DAY_MS)
    s, milli = divmod(rest, 1000)
    return _date_prefix(day) + _HMS[s] + _MILLI_Z[milli]


def iso_s(ms: int) -> str:
    """'2024-05-01T13:15:47Z' (the milliseconds are dropped)."""
    day, rest = divmod(ms, DAY_MS)
    return _date_prefix(day) + _HMS[rest // 1000] + "Z"


def yyyymmdd(ms: int) -> str:
    return _date_prefix(ms // DAY_MS)[:10].replace("-", "")


_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$")


def parse_rfc3339_us(text: str) -> int | None:
    """Epoch microseconds of a strict RFC3339 timestamp (offset required), else None."""
    m = _RFC3339.match(text)
    if not m:
        return None
    tz = "+00:00" if m[4] in ("Z", "z") else m[4]
    try:
        base = dt.datetime.fromisoformat(f"{m[1]}T{m[2]}{tz}")
    except ValueError:
        return None
    return to_epoch_us(base) + int((m[3] or "0").ljust(6, "0")[:6])


def to_epoch_us(value: object) -> int:
    """Epoch microseconds of an aware datetime, pendulum DateTime, ISO string or epoch seconds.
    Naive datetimes are taken as UTC."""
    if isinstance(value, (int, float)):
        return int(value * 1_000_000)
    if isinstance(value, str):
        value = pendulum.parse(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, dt.datetime):
        raise TypeError(f"not a datetime: {value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# --- ids --------------------------------------------------------------------------------------


def hex_ids(rng: np.random.Generator, n: int, nbytes: int) -> list[str]:
    raw = rng.bytes(n * nbytes)
    return [raw[i : i + nbytes].hex() for i in range(0, n * nbytes, nbytes)]


def uuids(rng: np.random.Generator, n: int) -> list[str]:
    out = []
    for h in hex_ids(rng, n, 16):
        out.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}")
    return out


def base32_ids(rng: np.random.Generator, n: int, length: int) -> list[str]:
    nbytes = math.ceil(length * 5 / 8)
    raw = rng.bytes(n * nbytes)
    return [base64.b32encode(raw[i : i + nbytes]).decode().lower()[:length] for i in range(0, n * nbytes, nbytes)]


def decoded(served: bytes) -> Any:
    """A served record as the truth shows it, also one orjson refuses (an injected record with a
    lone surrogate or bytes that are not UTF-8: those characters come back as surrogates)."""
    try:
        return orjson.loads(served)
    except orjson.JSONDecodeError:
        return json.loads(served.decode("utf-8", "surrogateescape"), strict=False)


def compact(serialized: bytes) -> bytes:
    """A right-sized copy: orjson.dumps leaves each result in a ~16 KB allocation, which for a
    million kept records would be 16 GB instead of 1.5 GB."""
    return bytes(memoryview(serialized))


_gc_pauses = 0
_gc_lock = threading.Lock()
_gc_was_enabled = True


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Generating a day allocates ~10^5 containers; the cyclic collector would rescan them
    over and over (measured 2x slower) though none of them form cycles. Counted, because
    days of different vendors may generate at once in different threads."""
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


# --- lazy per-day generation ------------------------------------------------------------------

D = TypeVar("D")


class DayCache(Generic[D]):
    """Generates a vendor's day the first time it is needed and keeps it. Days before the
    history start hold nothing."""

    def __init__(self, first_day: int, generate: Callable[[int], D], empty: Callable[[int], D]):
        self.first_day = first_day
        self._generate = generate
        self._empty = empty
        self._days: dict[int, D] = {}
        self._lock = threading.Lock()

    def get(self, day: int) -> D:
        found = self._days.get(day)
        if found is not None:
            return found
        with self._lock:
            found = self._days.get(day)
            if found is None:
                found = self._generate(day) if day >= self.first_day else self._empty(day)
                self._days[day] = found
            return found

    def days(self, first: int, last: int) -> list[D]:
        """Days first..last inclusive, clipped to the history start."""
        return [self.get(d) for d in range(max(first, self.first_day), last + 1)]
