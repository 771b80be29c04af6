"""REPORTING__TIMEZONE moves day and hour buckets; timestamps stay UTC instants."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.views import reference as ref

ZONE = "America/New_York"


@pytest.fixture(scope="module")
def new_york(loaded):
    """The loaded warehouse's views rebuilt with REPORTING__TIMEZONE=America/New_York (a copy)."""
    cli = loaded.copy("new_york")
    result = cli("views", env={"REPORTING__TIMEZONE": ZONE})
    assert result.returncode == 0, result.output
    assert ZONE in result.output
    return cli


@pytest.fixture(scope="module")
def expected_calls(loaded):
    return ref.all_calls(loaded.truth())


def test_the_setting_reaches_the_sql(new_york):
    assert new_york.query("select timezone from staging.reporting_settings") == [(ZONE,)]


def test_daily_calls_fall_on_the_new_york_day(new_york, expected_calls):
    expected = ref.daily_calls(expected_calls, ZONE)
    rows = new_york.query(
        "select day, vendor, direction, calls, answered, missed, failed, talk_s_total from reporting.daily_calls"
    )
    actual = {(d, v, di): (c, a, m, f, t) for d, v, di, c, a, m, f, t in rows}
    assert actual == {k: (e["calls"], e["answered"], e["missed"], e["failed"], e["talk_s_total"]) for k, e in expected.items()}
    # The UTC run has no 2026-11-16 (the load starts 2026-11-17 00:00 UTC); New York's evening of
    # the 16th holds the first five hours of UTC's 17th.
    assert min(d for d, _, _ in actual) == dt.date(2026, 11, 16)


def test_a_call_after_utc_midnight_counts_for_the_previous_new_york_day(new_york, expected_calls):
    early = next(
        c
        for c in sorted(expected_calls, key=lambda c: c.started_at)
        if c.started_at.date() == dt.date(2026, 11, 18) and c.started_at.hour < 5
    )
    day_rows = new_york.query(
        "select d.day from reporting.daily_calls d cross join (select * from reporting.calls where vendor = ? and call_id = ?) c "
        "where d.vendor = c.vendor and d.direction is not distinct from c.direction "
        "and d.day = cast(timezone('America/New_York', c.started_at) as date)",
        [early.vendor, early.call_id],
    )
    assert day_rows == [(dt.date(2026, 11, 17),)]


def test_hours_and_agent_days_are_local_too(new_york, loaded, expected_calls):
    hourly = {
        (h, v): p for h, v, p in new_york.query("select hour, vendor, peak_concurrent_calls from reporting.hourly_concurrency")
    }
    assert hourly == ref.hourly_peaks(expected_calls, ZONE)
    agents = new_york.query("select day, staff_id, calls from reporting.agent_daily")
    expected = ref.agent_daily(loaded.truth()["cinnox"], ZONE)
    assert {(d, s): c for d, s, c in agents} == {k: v["calls"] for k, v in expected.items()}


def test_calls_keep_their_utc_instants(new_york, loaded):
    query = "select vendor, call_id, started_at, ended_at from reporting.calls order by 1, 2"
    assert new_york.query(query) == loaded.query(query)


def test_an_unknown_zone_is_a_usage_error(loaded):
    cli = loaded.copy("bad_zone")
    result = cli("views", env={"REPORTING__TIMEZONE": "Mars/Olympus_Mons"})
    assert result.returncode == 2
    assert result.output.strip().splitlines() == [
        "callhouse: REPORTING__TIMEZONE: unknown time zone 'Mars/Olympus_Mons' (use an IANA name such as UTC or America/New_York)"
    ]
    # The views built before are untouched.
    assert cli.query("select timezone from staging.reporting_settings") == [("UTC",)]
