"""Duplicate keys that dlt's merge lets through (staging is declared deduplicated) are repaired.

The replayed-staging-copy case is produced for real by the `load-mid` kill points in
test_crashes.py. Here: the repair itself was lost (a crash between a load's commit and its
repair), so the rows of the latest load hold a key twice; the next run must repair them first.
"""

from __future__ import annotations

import duckdb

from tests.conftest import TEST_NOW
from tests.sources.test_cinnox import counts, truth_tables, warehouse_tables

DAY1 = TEST_NOW.start_of("day").subtract(days=5)
DAY2 = DAY1.add(days=1)
DAY3 = DAY2.add(days=1)
CHILDREN = ("call_detail__recording_event_list", "call_detail__recording_event_list__files")


def _backfill(run, start, end):
    result = run("backfill", "--source", "cinnox", "--start", start.to_date_string(), "--end", end.to_date_string())
    assert result.returncode == 0, result.output
    return result


def test_duplicates_left_in_the_latest_load_are_removed_by_the_next_run(make_sandbox, cli):
    sandbox = make_sandbox(cinnox_calls_per_day=300)
    run = cli(sandbox)
    _backfill(run, DAY1, DAY2)
    clean = counts(run)

    # Copy every row of calls that have recordings, as a replayed staging copy would: same key,
    # same load id.
    con = duckdb.connect(str(run.warehouse))
    try:
        con.execute(f"insert into cinnox.{CHILDREN[1]} select * from cinnox.{CHILDREN[1]}")
        con.execute(f"insert into cinnox.{CHILDREN[0]} select * from cinnox.{CHILDREN[0]}")
        con.execute(
            "insert into cinnox.call_detail select * from cinnox.call_detail "
            f"where id in (select call_detail_id from cinnox.{CHILDREN[0]})"
        )
    finally:
        con.close()
    assert counts(run) != clean and all(c > 0 for c in clean), "the setup must add duplicates"

    _backfill(run, DAY2, DAY3)  # another day: nothing of day 1 is re-delivered

    truth = tuple(a | b for a, b in zip(truth_tables(sandbox, DAY1, DAY2), truth_tables(sandbox, DAY2, DAY3)))
    assert warehouse_tables(run) == truth
    assert counts(run) == tuple(len(t) for t in truth), "duplicate keys survived the next run"
