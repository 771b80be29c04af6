"""Numbers on the page are written for people; the range is whole days in the reporting zone."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pendulum
import pytest

from pipelines.errors import UsageError
from pipelines.report import formatting
from pipelines.report.queries import ReportRange


@pytest.mark.parametrize(("value", "shown"), [(0, "0"), (999, "999"), (1000, "1,000"), (1234567, "1,234,567"), (None, "–")])
def test_counts_have_thousands_separators(value, shown):
    assert formatting.count(value) == shown


@pytest.mark.parametrize(
    ("fraction", "shown"),
    [(0.8734, "87.3%"), (1, "100.0%"), (0, "0.0%"), (Decimal("0.61666"), "61.7%"), (2 / 3, "66.7%"), (None, "–")],
)
def test_percentages_have_one_decimal(fraction, shown):
    assert formatting.percent(fraction) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0:00"),
        (29, "0:00"),
        (31, "0:01"),
        (3725, "1:02"),
        (Decimal("1651739.123"), "458:49"),
        (3_672_000, "1,020:00"),
        (None, "–"),
    ],
)
def test_durations_are_hours_and_minutes(seconds, shown):
    assert formatting.hours_minutes(seconds) == shown


def test_the_answer_rate_is_answered_over_ended_calls():
    assert formatting.rate(3, 1, 0) == 0.75
    assert formatting.rate(0, 0, 0) is None


def test_the_default_range_is_the_last_seven_full_local_days():
    now = pendulum.datetime(2026, 11, 20, 6, 0, tz="UTC")
    utc = ReportRange.last_full_days(now, "UTC")
    assert (utc.first_day, utc.last_day) == (dt.date(2026, 11, 13), dt.date(2026, 11, 19))
    assert (utc.start, utc.end) == (pendulum.datetime(2026, 11, 13, tz="UTC"), pendulum.datetime(2026, 11, 20, tz="UTC"))
    # 06:00 UTC is already the 20th in Tokyo, and still the 19th in Los Angeles
    assert ReportRange.last_full_days(now, "Asia/Tokyo").last_day == dt.date(2026, 11, 19)
    los_angeles = ReportRange.last_full_days(now, "America/Los_Angeles")
    assert (los_angeles.first_day, los_angeles.last_day) == (dt.date(2026, 11, 12), dt.date(2026, 11, 18))
    assert los_angeles.start == pendulum.datetime(2026, 11, 12, 8, tz="UTC")
    assert utc.describe() == "Fri 13 Nov 2026 – Thu 19 Nov 2026 (7 days, UTC)"


def test_a_bare_date_is_a_local_day_and_a_datetime_an_instant():
    days = ReportRange.parse("2026-11-17", "2026-11-20", "Europe/Berlin")
    assert (days.first_day, days.last_day, days.widened) == (dt.date(2026, 11, 17), dt.date(2026, 11, 19), False)
    assert days.start == pendulum.datetime(2026, 11, 16, 23, tz="UTC")
    # no offset = UTC, as for `callhouse backfill`; an instant inside a day widens to the whole day
    instants = ReportRange.parse("2026-11-17T06:00:00", "2026-11-18T06:00:00", "UTC")
    assert (instants.first_day, instants.last_day, instants.widened) == (dt.date(2026, 11, 17), dt.date(2026, 11, 18), True)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("nope", "2026-11-20", "--start: 'nope' is not a date or ISO-8601 datetime"),
        ("2026-11-17", "2026-13-01", "--end: '2026-13-01' is not a date or ISO-8601 datetime"),
        ("2026-11-20", "2026-11-17", "--end (2026-11-17) must be after --start (2026-11-20)"),
    ],
)
def test_a_bad_range_is_a_usage_error(start, end, message):
    with pytest.raises(UsageError) as error:
        ReportRange.parse(start, end, "UTC")
    assert str(error.value) == message
