"""Every committed state a reader can see is whole (issue 24, findings 1 and 5).

A load package is published in one transaction (pipelines/warehouse/publish.py): its merged rows,
their children, its `_dlt_loads` row and the source's loaded ranges. Checked as a reader would see
it, while a backfill re-merges days already loaded in several packages:

- DuckLake: every snapshot the re-merge committed, read with `AT (VERSION => n)`;
- PostgreSQL: a second session sampling in a loop during the load;
- the DuckDB file, which no other process opens while a load holds it: the state a load that
  failed while publishing leaves to the readers after it.

In no state is there a child row without its parent, a day with fewer committed calls than before
or after the load, or a missing loaded range of the source. And on PostgreSQL the first load's
bookkeeping (loaded ranges, the run's quarantine count) is right at once, before any `views`.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from pipelines.sources.registry import vendor
from tests.conftest import TEST_NOW

START = TEST_NOW.start_of("day").subtract(days=4)
END = START.add(days=1)
CINNOX = vendor("cinnox")
BACKFILL = ("backfill", "--source", "cinnox", "--start", START.isoformat(), "--end", END.isoformat())
# Several packages per re-merge: six-hour windows, a checkpoint after each.
SMALL_PACKAGES = {"SOURCES__CINNOX__WINDOW": "6h", "SOURCES__CINNOX__CHECKPOINT_ROWS": "1"}


def daily_sql(at: str = "") -> str:
    """Calls per day of committed loads (what the views count), optionally at a DuckLake snapshot."""
    return (
        f"select cast(date_trunc('day', call_date) as date) as day, count(*) from cinnox.call_detail {at} "
        f"where _dlt_load_id in (select load_id from cinnox._dlt_loads {at} where status = 0) group by 1"
    )


def orphans_sql(at: str = "") -> str:
    """Child rows whose parent row is not there."""
    return " + ".join(
        f'(select count(*) from cinnox."{c.table}" {at} where "{c.key}" not in '
        f'(select "{c.parent_key}" from cinnox."{c.parent}" {at}))'
        for c in CINNOX.child_tables
    )


RANGE_SQL = "select count(*) from callhouse.loaded_ranges {at} where source = 'cinnox' and loaded_from <= {start} and loaded_until >= {end}"


class Seen:
    """What readers saw: states read, orphans, the lowest daily counts, states without the range."""

    def __init__(self, before: dict[Any, int], after: dict[Any, int]) -> None:
        assert before == after and sum(before.values()) > 0, "the re-merge must keep the same calls"
        self.floor = before
        self.states = 0
        self.orphans = 0
        self.lowest: dict[Any, int] = dict(before)
        self.without_range = 0

    def add(self, daily: dict[Any, int], orphans: int, ranges: int) -> None:
        self.states += 1
        self.orphans += orphans
        for day in self.floor:
            self.lowest[day] = min(self.lowest[day], daily.get(day, 0))
        self.without_range += ranges == 0

    def report(self, what: str) -> str:
        return (
            f"{what}: {self.states} states, {self.orphans} orphan children, lowest daily counts "
            f"{sorted(self.lowest.items())} (before and after: {sorted(self.floor.items())}), "
            f"{self.without_range} without the loaded range"
        )

    def assert_whole(self, what: str) -> None:
        print(self.report(what))
        assert self.orphans == 0, self.report(what)
        assert self.lowest == self.floor, self.report(what)
        assert self.without_range == 0, self.report(what)


def _daily(rows: list[tuple]) -> dict[Any, int]:
    return {str(day): n for day, n in rows}


@pytest.mark.parametrize("warehouse_kind", ["ducklake"])
def test_every_ducklake_snapshot_of_a_re_merge_is_whole(make_sandbox, cli):
    run = cli(make_sandbox(cinnox_calls_per_day=150))
    first = run(*BACKFILL)
    assert first.returncode == 0, first.output
    before_version = run.query("select max(snapshot_id) from ducklake_snapshots('ducklake')")[0][0]
    before = _daily(run.query(daily_sql()))

    again = run(*BACKFILL, env=SMALL_PACKAGES)
    assert again.returncode == 0, again.output
    after = _daily(run.query(daily_sql()))
    versions = [
        v
        for (v,) in run.query(
            "select snapshot_id from ducklake_snapshots('ducklake') where snapshot_id > ? order by 1", [before_version]
        )
    ]
    assert len(versions) >= 4, "the re-merge must commit several packages"

    seen = Seen(before, after)
    con = run.connect()
    try:
        for version in versions:
            at = f"at (version => {version})"
            # One statement a snapshot: each one read at a version costs DuckLake catalog queries.
            daily, orphans, ranges = con.execute(
                f"select (select coalesce(list(struct_pack(day := day, n := n)), []) from ({daily_sql(at)}) as days(day, n)), "
                f"{orphans_sql(at)}, ({RANGE_SQL.format(at=at, start='?', end='?')})",
                [START, END],
            ).fetchone()
            seen.add(_daily([(d["day"], d["n"]) for d in daily]), orphans, ranges)
    finally:
        con.close()
    seen.assert_whole(f"DuckLake: {len(versions)} snapshots walked")


@pytest.mark.parametrize("warehouse_kind", ["postgres"])
def test_a_postgres_reader_during_a_re_merge_sees_only_whole_loads(make_sandbox, cli):
    run = cli(make_sandbox(cinnox_calls_per_day=150))
    first = run(*BACKFILL)
    assert first.returncode == 0, first.output
    before = _daily(run.query(daily_sql()))

    samples: list[tuple[dict[Any, int], int, int]] = []
    errors: list[str] = []
    stop = threading.Event()

    def sample() -> None:
        session = run.postgres.native()
        # One snapshot per sample: its three queries see the same committed state.
        session.set_session(isolation_level="REPEATABLE READ", readonly=True)
        try:
            with session.cursor() as cursor:
                while not stop.is_set():
                    cursor.execute(daily_sql())
                    daily = _daily(cursor.fetchall())
                    cursor.execute(f"select {orphans_sql()}")
                    (orphans,) = cursor.fetchone()
                    cursor.execute(RANGE_SQL.format(at="", start="%s", end="%s"), [START, END])
                    (ranges,) = cursor.fetchone()
                    session.commit()
                    samples.append((daily, orphans, ranges))
        except Exception as exc:  # noqa: BLE001 - every error is a failure of the test
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            session.close()

    reader = threading.Thread(target=sample)
    reader.start()
    try:
        again = run(*BACKFILL, env=SMALL_PACKAGES)
    finally:
        stop.set()
        reader.join()
    assert again.returncode == 0, again.output
    assert errors == []
    assert len(samples) >= 20, "the reader must sample during the load"
    seen = Seen(before, _daily(run.query(daily_sql())))
    for daily, orphans, ranges in samples:
        seen.add(daily, orphans, ranges)
    seen.assert_whole("PostgreSQL: samples")


@pytest.mark.parametrize("warehouse_kind", ["postgres"])
def test_a_first_postgres_load_records_its_ranges_and_quarantine_at_once(make_sandbox, cli):
    sandbox = make_sandbox(cinnox_calls_per_day=150, bad_record_rate=0.05)
    run = cli(sandbox)
    start, end = START, START.add(days=1)
    result = run("backfill", "--source", "cinnox", "--start", start.isoformat(), "--end", end.isoformat())
    assert result.returncode == 0, result.output
    bad = sum(b["defect"] != "extra_field" for b in sandbox.truth.bad_records("cinnox", start, end))  # those load
    assert bad > 0
    assert run.query("select count(*) from cinnox.quarantine")[0][0] == bad
    assert run.query("select source, quarantined from callhouse.runs") == [("cinnox", bad)]
    assert run.query("select source, loaded_from, loaded_until from callhouse.loaded_ranges") == [("cinnox", start, end)]


# Run as `python -c`: the CLI with its DuckDB session failing as dlt records the load in
# `_dlt_loads`, after the merges, as a full disk or a killed process would fail it.
FAIL_PUBLISHING = """
import re, sys
from dlt.destinations.impl.duckdb.sql_client import DuckDbSqlClient
original = DuckDbSqlClient.execute_sql
def execute_sql(self, sql, *args, **kwargs):
    if re.search(r'insert into [^(]*"_dlt_loads"', str(sql), re.I):
        raise RuntimeError("the disk failed while publishing")
    return original(self, sql, *args, **kwargs)
DuckDbSqlClient.execute_sql = execute_sql
from pipelines.cli import main
sys.exit(main())
"""


def test_a_duckdb_load_failing_as_it_publishes_leaves_the_last_whole_state(make_sandbox, cli):
    run = cli(make_sandbox(cinnox_calls_per_day=150))
    first = run(*BACKFILL)
    assert first.returncode == 0, first.output
    before = _daily(run.query(daily_sql()))
    ranges = run.query("select * from callhouse.loaded_ranges")

    failed = run(*BACKFILL, entry=("-c", FAIL_PUBLISHING))
    assert failed.returncode == 1, failed.output
    # What any reader opening the file now sees: the state before the failed load, whole.
    seen = Seen(before, before)
    seen.add(_daily(run.query(daily_sql())), run.query(f"select {orphans_sql()}")[0][0], len(ranges))
    seen.assert_whole("DuckDB file after a load failed publishing")
    assert run.query("select * from callhouse.loaded_ranges") == ranges

    again = run(*BACKFILL)  # publishes the failed load's package, then re-reads the range
    assert again.returncode == 0, again.output
    assert _daily(run.query(daily_sql())) == before
    assert run.query(f"select {orphans_sql()}")[0][0] == 0
