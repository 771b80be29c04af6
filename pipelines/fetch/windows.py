"""Time windows, durations and instants: the one place that turns user text into UTC datetimes."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pendulum

from pipelines.errors import UsageError

_SHORT_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str | int | float, setting: str = "duration") -> pendulum.Duration:
    """`30m`, `6h`, `2d`, `1w`, ISO-8601 `PT6H`/`P2D`, or a number of seconds."""
    if isinstance(text, (int, float)):
        return pendulum.duration(seconds=text)
    match = _SHORT_DURATION.match(text)
    if match:
        return pendulum.duration(**{_UNIT[match.group(2)]: int(match.group(1))})
    try:
        parsed = pendulum.parse(text.strip())
    except Exception:
        parsed = None
    if isinstance(parsed, pendulum.Duration):
        return parsed
    raise UsageError(f"{setting}: {text!r} is not a duration (write e.g. 30m, 6h, 2d or PT6H)")


def parse_instant(text: str | datetime, setting: str = "time") -> pendulum.DateTime:
    """A date (midnight UTC) or an ISO-8601 datetime; no offset means UTC."""
    if isinstance(text, datetime):
        return to_utc(text)
    try:
        parsed = pendulum.parse(text.strip(), tz="UTC")
    except Exception:
        parsed = None
    if isinstance(parsed, pendulum.Date) and not isinstance(parsed, pendulum.DateTime):
        parsed = pendulum.datetime(parsed.year, parsed.month, parsed.day, tz="UTC")
    if not isinstance(parsed, pendulum.DateTime):
        raise UsageError(f"{setting}: {text!r} is not a date or ISO-8601 datetime")
    return parsed.in_timezone("UTC")


def now() -> pendulum.DateTime:
    """Now in UTC, or CALLHOUSE_NOW when a replay or a test pins the clock (the vendors' clock
    is then the pinned one: loads end there and nothing after it counts as loaded)."""
    pinned = os.environ.get("CALLHOUSE_NOW")
    return parse_instant(pinned, "CALLHOUSE_NOW") if pinned else pendulum.now("UTC")


def to_utc(value: datetime) -> pendulum.DateTime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return pendulum.instance(value).in_timezone("UTC")


def iso(value: datetime) -> str:
    """RFC3339 with milliseconds and `Z`: the form every vendor here accepts."""
    return to_utc(value).format("YYYY-MM-DDTHH:mm:ss.SSS") + "Z"


@dataclass(frozen=True, order=True)
class Window:
    """A half-open time range [start, end)."""

    start: pendulum.DateTime
    end: pendulum.DateTime

    def halves(self) -> tuple[Window, Window]:
        middle = self.start + (self.end - self.start) / 2
        return Window(self.start, middle), Window(middle, self.end)

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end

    @property
    def key(self) -> str:
        return f"{iso(self.start)}/{iso(self.end)}"

    def __str__(self) -> str:
        return f"[{iso(self.start)}, {iso(self.end)})"


def split(start: datetime, end: datetime, size: pendulum.Duration) -> list[Window]:
    """Consecutive windows of `size` covering [start, end); the last one may be shorter."""
    start, end = to_utc(start), to_utc(end)
    if size.total_seconds() <= 0:
        raise UsageError("window size must be positive")
    windows = []
    cursor = start
    while cursor < end:
        nxt = min(cursor + size, end)
        windows.append(Window(cursor, nxt))
        cursor = nxt
    return windows


def merge_intervals(intervals: list[list[str]]) -> list[list[str]]:
    """Union of [start, end) intervals written as ISO strings (sorted, touching ones joined)."""
    parsed = sorted((parse_instant(a), parse_instant(b)) for a, b in intervals)
    merged: list[list[pendulum.DateTime]] = []
    for a, b in parsed:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [[iso(a), iso(b)] for a, b in merged]
