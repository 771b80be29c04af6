"""Time that was never loaded is not time without calls: a backfill with a hole in the middle.

Day 1 and day 3 are loaded, day 2 is not. The bucketed views must not report day 2 as quiet
(before: 24 hours of `peak_concurrent_calls = 0`), `callhouse check` must fail naming the hole
and the backfill that fills it, and once it is filled everything reads as one range.
"""

from __future__ import annotations

import datetime as dt

import pendulum

from tests.conftest import TEST_NOW
from tests.views.conftest import check

DAY1 = TEST_NOW.start_of("day").subtract(days=5)
DAY2, DAY3, DAY4 = DAY1.add(days=1), DAY1.add(days=2), DAY1.add(days=3)
FAST = {"SOURCES__BANDWIDTH__REQUESTS_PER_SECOND": "100000", "REPORTING__TIMEZONE": "UTC"}


def backfill(run, start: pendulum.DateTime, end: pendulum.DateTime) -> None:
    result = run("backfill", "--source", "bandwidth", "--start", start.isoformat(), "--end", end.isoformat())
    assert result.returncode == 0, result.output


def naive(instant: pendulum.DateTime) -> dt.datetime:
    return dt.datetime(instant.year, instant.month, instant.day, instant.hour)


def hours_between(first: dt.datetime, last: dt.datetime, days: list[pendulum.DateTime]) -> set[dt.datetime]:
    """The UTC hours of `days` from the hour of `first` to the hour of `last`."""
    hours = {naive(day.add(hours=h)) for day in days for h in range(24)}
    low, high = first.replace(minute=0, second=0, microsecond=0), last.replace(minute=0, second=0, microsecond=0)
    return {h for h in hours if low <= h <= high}


def test_a_hole_in_the_loaded_ranges_is_no_zero_and_fails_check(make_sandbox, cli):
    sandbox = make_sandbox(bandwidth_calls_per_day=150, bandwidth_rps=None)
    run = cli(sandbox, **FAST)
    backfill(run, DAY1, DAY2)
    backfill(run, DAY3, DAY4)
    assert run("views").returncode == 0

    assert run.query("select vendor, loaded_from, loaded_until from reporting.loaded_ranges order by loaded_from") == [
        ("bandwidth", DAY1, DAY2),
        ("bandwidth", DAY3, DAY4),
    ]
    # Hourly peaks only for loaded hours: none for day 2, every hour of days 1 and 3 between the
    # first and the last start or end.
    first, last = run.query(
        "select min(least(started_at, coalesce(ended_at, started_at))), max(greatest(started_at, coalesce(ended_at, started_at))) "
        "from reporting.calls where vendor = 'bandwidth'"
    )[0]
    hours = {h for (h,) in run.query("select hour from reporting.hourly_concurrency where vendor = 'bandwidth'")}
    expected = hours_between(
        first.astimezone(dt.UTC).replace(tzinfo=None), last.astimezone(dt.UTC).replace(tzinfo=None), [DAY1, DAY3]
    )
    assert hours == expected
    assert not {h for h in hours if naive(DAY2) <= h < naive(DAY3)}
    # Days: both loaded days whole, day 2 absent rather than quiet.
    assert run.query("select distinct day, complete from reporting.daily_calls where vendor = 'bandwidth' order by day") == [
        (DAY1.date(), True),
        (DAY3.date(), True),
    ]

    failed = check(run)
    assert failed.returncode == 1, failed.output
    hole = "[2026-11-16T00:00:00.000Z, 2026-11-17T00:00:00.000Z)"
    assert (
        f"FAIL bandwidth: coverage: 1 gap(s) in the loaded ranges, e.g. {hole} was never loaded; load it with "
        "`callhouse backfill --source bandwidth --start 2026-11-16T00:00:00.000Z --end 2026-11-17T00:00:00.000Z`"
    ) in failed.stdout

    backfill(run, DAY2, DAY3)  # no view rebuild: the views read the ranges the load wrote
    assert run.query("select vendor, loaded_from, loaded_until from reporting.loaded_ranges") == [("bandwidth", DAY1, DAY4)]
    hours = {h for (h,) in run.query("select hour from reporting.hourly_concurrency where vendor = 'bandwidth'")}
    assert hours == hours_between(
        first.astimezone(dt.UTC).replace(tzinfo=None), last.astimezone(dt.UTC).replace(tzinfo=None), [DAY1, DAY2, DAY3]
    )
    passed = check(run)
    assert "coverage" not in passed.stdout, passed.stdout
    assert passed.returncode == 0, passed.output


def test_a_partly_loaded_day_is_marked_incomplete(make_sandbox, cli):
    sandbox = make_sandbox(bandwidth_calls_per_day=150, bandwidth_rps=None)
    run = cli(sandbox, **FAST)
    backfill(run, DAY1, DAY2.add(hours=12))
    assert run("views").returncode == 0
    assert run.query("select distinct day, complete from reporting.daily_calls where vendor = 'bandwidth' order by day") == [
        (DAY1.date(), True),
        (DAY2.date(), False),
    ]
    # No hour after the range's end, although calls that began before it ran on.
    last_hour = run.query("select max(hour) from reporting.hourly_concurrency where vendor = 'bandwidth'")[0][0]
    assert last_hour == naive(DAY2.add(hours=11))
