"""Numbers and times as people read them: thousands separators, one-decimal percentages, h:mm."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

NO_VALUE = "–"


def count(value: int | None) -> str:
    """12345 -> '12,345'."""
    return NO_VALUE if value is None else f"{int(value):,}"


def percent(fraction: float | Decimal | None) -> str:
    """0.8734 -> '87.3%' (one decimal); None (nothing to divide) -> '–'."""
    return NO_VALUE if fraction is None else f"{float(fraction) * 100:.1f}%"


def hours_minutes(seconds: float | Decimal | None) -> str:
    """A duration as h:mm, rounded to the minute: 3725 s -> '1:02', 1 234 567 s -> '342:56'."""
    if seconds is None:
        return NO_VALUE
    minutes = round(float(seconds) / 60)
    return f"{minutes // 60:,}:{minutes % 60:02d}"


def rate(answered: int, missed: int, failed: int) -> float | None:
    """The answer rate of the views: answered / (answered + missed + failed); None when none ended."""
    ended = answered + missed + failed
    return answered / ended if ended else None


def day(value: dt.date) -> str:
    """'Sat 14 Nov 2026'."""
    return f"{value:%a} {value.day} {value:%b %Y}"


def short_day(value: dt.date) -> str:
    """'Sat 14 Nov'."""
    return f"{value:%a} {value.day} {value:%b}"


def instant(value: dt.datetime, zone_name: str) -> str:
    """'2026-11-20 06:00 UTC' (the value already in that zone)."""
    return f"{value:%Y-%m-%d %H:%M} {zone_name}"
