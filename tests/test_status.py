"""`callhouse status` tells only what is committed: killed runs, future ranges, quarantine."""

from __future__ import annotations

import re
import signal
import time

from tests.conftest import TEST_NOW

START, END = TEST_NOW.subtract(days=12), TEST_NOW.subtract(days=2)


def committed(run, table: str) -> int:
    return run.query(
        f"select count(*) from cinnox.{table} where _dlt_load_id in (select load_id from cinnox._dlt_loads where status = 0)"
    )[0][0]


def status_count(stdout: str, table: str) -> int:
    return int(re.search(rf"^  {table}\s+([\d,]+)$", stdout, re.M).group(1).replace(",", ""))


def test_status_after_a_killed_run_shows_it_and_counts_only_committed_rows(make_sandbox, cli):
    sandbox = make_sandbox(cinnox_calls_per_day=2000, latency_ms=10)
    run = cli(sandbox, SOURCES__CINNOX__PAGE_LIMIT="100", SOURCES__CINNOX__CHECKPOINT_ROWS="3000")
    proc = run.start("backfill", "--source", "cinnox", "--start", START.isoformat(), "--end", END.isoformat())
    for line in proc.stderr:
        if line.startswith("cinnox: window 4/"):
            break
    time.sleep(0.3)  # inside the next extract or load
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    status = run("status")
    assert status.returncode == 0, status.output
    assert "no end recorded: still running, or killed" in status.stdout
    assert "last run:  never" not in status.stdout.split("bandwidth")[0]
    for table in ("call_detail", "call_detail__recording_event_list"):
        assert status_count(status.stdout, table) == committed(run, table)


def test_status_shows_no_coverage_or_gaps_beyond_now(make_sandbox, cli):
    sandbox = make_sandbox(cinnox_calls_per_day=50)
    run = cli(sandbox)
    day = TEST_NOW.start_of("day").subtract(days=3)
    assert run("backfill", "--source", "cinnox", "--start", day.isoformat(), "--end", day.add(days=1).isoformat()).returncode == 0
    future = TEST_NOW.add(days=30).start_of("day")
    ahead = run("backfill", "--source", "cinnox", "--start", future.isoformat(), "--end", future.add(days=2).isoformat())
    assert ahead.returncode == 0, ahead.output
    status = run("status")
    cinnox = status.stdout.split("bandwidth")[0]
    assert "coverage:  [2026-11-17T00:00:00.000Z, 2026-11-18T00:00:00.000Z)\n" in cinnox
    assert "gaps:" not in cinnox


def test_status_counts_quarantine_as_the_table_has_it_and_names_records_loaded_since(make_sandbox, cli):
    sandbox = make_sandbox(cinnox_calls_per_day=400, bad_record_rate=0.05)
    run = cli(sandbox)
    args = ("backfill", "--source", "cinnox", "--start", START.isoformat(), "--end", START.add(days=1).isoformat())
    first = run(*args)
    assert first.returncode == 0, first.output
    quarantined = run.query("select count(*) from cinnox.quarantine")[0][0]
    assert quarantined > 5
    assert run.query("select quarantined from callhouse.runs") == [(quarantined,)]

    sandbox.faults.bad_record_rate = 0.0  # the vendor fixes its records; a rerun loads them
    assert run(*args).returncode == 0
    status = run("status")
    fixed = run.query(
        "select count(*) from cinnox.quarantine q where json_extract_string(q.raw_json, '$.id') in (select id from cinnox.call_detail)"
    )[0][0]
    assert fixed > 0
    assert (
        f"quarantined: {quarantined:,} records could not be loaded (see cinnox.quarantine); {fixed:,} of them have loaded since"
        in status.stdout
    )
