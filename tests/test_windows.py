"""Durations, instants and window splitting: the user-facing time vocabulary."""

import pendulum
import pytest

from pipelines.errors import UsageError
from pipelines.extract.ledger import coverage_gaps
from pipelines.fetch.windows import Window, merge_intervals, parse_duration, parse_instant, split


@pytest.mark.parametrize(
    "text, seconds", [("30m", 1800), ("6h", 21600), ("2d", 172800), ("1w", 604800), ("PT6H", 21600), ("P2D", 172800), (90, 90)]
)
def test_durations_accept_short_and_iso_forms(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["6 hours", "h6", "", "-1d"])
def test_a_bad_duration_names_the_setting(text):
    with pytest.raises(UsageError, match="SOURCES__X__LOOKBACK"):
        parse_duration(text, "SOURCES__X__LOOKBACK")


def test_instants_without_offset_are_utc_and_dates_are_midnight():
    assert parse_instant("2026-11-01") == pendulum.datetime(2026, 11, 1, tz="UTC")
    assert parse_instant("2026-11-01T10:30:00") == pendulum.datetime(2026, 11, 1, 10, 30, tz="UTC")
    assert parse_instant("2026-11-01T10:30:00+02:00") == pendulum.datetime(2026, 11, 1, 8, 30, tz="UTC")
    with pytest.raises(UsageError):
        parse_instant("yesterday-ish")


def test_split_covers_the_range_half_open_with_a_short_last_window():
    start, end = pendulum.datetime(2026, 11, 1, tz="UTC"), pendulum.datetime(2026, 11, 3, 12, tz="UTC")
    windows = split(start, end, parse_duration("1d"))
    assert [(w.start.day, w.end.day, w.end.hour) for w in windows] == [(1, 2, 0), (2, 3, 0), (3, 3, 12)]
    assert windows[0].contains(start) and not windows[0].contains(windows[0].end)
    assert split(end, end, parse_duration("1d")) == []


def test_halves_meet_in_the_middle():
    window = Window(pendulum.datetime(2026, 11, 1, tz="UTC"), pendulum.datetime(2026, 11, 1, 1, tz="UTC"))
    left, right = window.halves()
    assert left.end == right.start == pendulum.datetime(2026, 11, 1, 0, 30, tz="UTC")


def test_coverage_merges_touching_intervals_and_reports_gaps():
    merged = merge_intervals(
        [
            ["2026-11-03T00:00:00.000Z", "2026-11-04T00:00:00.000Z"],
            ["2026-11-01T00:00:00.000Z", "2026-11-02T00:00:00.000Z"],
            ["2026-11-02T00:00:00.000Z", "2026-11-02T12:00:00.000Z"],
        ]
    )
    assert merged == [
        ["2026-11-01T00:00:00.000Z", "2026-11-02T12:00:00.000Z"],
        ["2026-11-03T00:00:00.000Z", "2026-11-04T00:00:00.000Z"],
    ]
    assert coverage_gaps(merged) == [["2026-11-02T12:00:00.000Z", "2026-11-03T00:00:00.000Z"]]
