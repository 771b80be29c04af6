"""reporting.hourly_concurrency on a constructed overlap case: raw rows written by hand into a
scratch warehouse, views built by the real CLI."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from tests.conftest import Cli
from tests.views.conftest import write_coverage

UTC = dt.UTC
COMMITTED, UNFINISHED = "1700000000.1", "1700000000.2"


def at(hhmmss: str) -> dt.datetime:
    h, m, s = map(int, hhmmss.split(":"))
    return dt.datetime(2026, 11, 18, h, m, s, tzinfo=UTC)


# id, start, end (None: still active), load
CALLS = [
    ("c-a", "10:00:00", "10:30:00", COMMITTED),
    ("c-b", "10:10:00", "11:10:00", COMMITTED),  # spans into hour 11
    ("c-c", "10:30:00", "10:40:00", COMMITTED),  # starts the instant c-a ends: no overlap with it
    ("c-d", "10:20:00", "10:25:00", COMMITTED),  # a, b and d at once: the peak of hour 10
    ("c-e", "12:59:59", None, COMMITTED),  # still active: counts from here on
    ("c-f", "13:00:00", "13:00:00", COMMITTED),  # zero length: never in progress
    ("c-g", "14:30:00", "14:45:00", COMMITTED),  # with c-e: 2
    ("c-x", "10:00:00", "11:00:00", UNFINISHED),  # a load that never committed: not counted
]
EXPECTED_UTC = {10: 3, 11: 1, 12: 1, 13: 1, 14: 2}
LOADED = [["2026-11-18T00:00:00.000Z", "2026-11-19T00:00:00.000Z"]]  # the day of the calls


def scratch_warehouse(path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    con.execute("create schema bandwidth")
    con.execute("""create table bandwidth.calls (
        id varchar, bridge_id varchar, conference_id varchar, direction varchar, "from" varchar, "to" varchar,
        state varchar, start_time timestamptz, active_time timestamptz, end_time timestamptz,
        chargeable_duration bigint, recording_enabled boolean, recording_file_format varchar,
        transcription_enabled boolean, _dlt_load_id varchar)""")
    con.execute(
        "create table bandwidth._dlt_loads (load_id varchar, schema_name varchar, status bigint, "
        "inserted_at timestamptz, schema_version_hash varchar)"
    )
    con.execute("insert into bandwidth._dlt_loads values (?, 'bandwidth', 0, now(), 'x')", [COMMITTED])
    write_coverage(con, "bandwidth", COMMITTED, LOADED)
    for call_id, start, end, load in CALLS:
        answered = at(start) + dt.timedelta(seconds=0)
        con.execute(
            "insert into bandwidth.calls values (?, null, null, 'in', '+15550001', '+15550002', ?, ?, ?, ?, "
            "60, false, null, false, ?)",
            [call_id, "completed" if end else "active", at(start), answered, at(end) if end else None, load],
        )
    con.close()


@pytest.fixture
def scratch(tmp_path):
    cli = Cli(None, tmp_path, {"REPORTING__TIMEZONE": "UTC"})
    scratch_warehouse(cli.warehouse)
    return cli


def peaks(cli: Cli) -> dict:
    return {
        h: p
        for h, v, p in cli.query(
            "select hour, vendor, peak_concurrent_calls from reporting.hourly_concurrency "
            "where vendor = 'bandwidth' order by hour"
        )
    }


def test_peak_concurrency_per_hour_of_a_constructed_overlap(scratch):
    result = scratch("views")
    assert result.returncode == 0, result.output
    assert peaks(scratch) == {dt.datetime(2026, 11, 18, h): p for h, p in EXPECTED_UTC.items()}


def test_peak_concurrency_hours_follow_the_reporting_time_zone(scratch):
    assert scratch("views", env={"REPORTING__TIMEZONE": "Asia/Kolkata"}).returncode == 0
    # +05:30: local hour 15:00-16:00 holds 09:30-10:30 UTC (a, b and d: 3), 16:00 holds
    # 10:30-11:30 (b and c: 2), 18:00 holds 12:30-13:30 (e: 1), 20:00 holds 14:30-15:30 (e, g: 2).
    assert peaks(scratch) == {dt.datetime(2026, 11, 18, h): p for h, p in {15: 3, 16: 2, 17: 0, 18: 1, 19: 1, 20: 2}.items()}


def test_uncommitted_rows_stay_out_of_every_view(scratch):
    assert scratch("views").returncode == 0
    assert scratch.query("select count(*) from reporting.calls where call_id = 'c-x'") == [(0,)]
    assert scratch.query("select count(*) from reporting.calls") == [(len(CALLS) - 1,)]
