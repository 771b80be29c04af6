"""Bandwidth calls end to end: the real CLI, the sandbox over HTTP, a real DuckDB file."""

from __future__ import annotations

import json
import math
import re
import time
from datetime import datetime

import pendulum
import pytest

from tests.conftest import TEST_NOW

RANGE_START = TEST_NOW.start_of("day").subtract(days=20)
RANGE_END = RANGE_START.add(days=3)
BACKFILL = ("backfill", "--source", "bandwidth", "--start", RANGE_START.to_date_string(), "--end", RANGE_END.to_date_string())
BEFORE_HISTORY = pendulum.datetime(2000, 1, 1, tz="UTC")
PAGE_SIZE = 1000
FINAL_STATES = {"completed", "rejected"}
# The fixture turns the sandbox's rate limit off; the client's own pacing goes too, except where
# a test is about rate limits.
UNPACED = {"SOURCES__BANDWIDTH__REQUESTS_PER_SECOND": "0"}


def ts(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def truth_calls(sandbox, start, end) -> set[tuple]:
    return {
        (
            r["id"],
            r["state"],
            r["direction"],
            r["from"],
            r["to"],
            ts(r["startTime"]),
            ts(r.get("activeTime")),
            ts(r.get("endTime")),
            r.get("chargeableDuration"),
        )
        for r in sandbox.truth.bandwidth_calls(start, end)
    }


def truth_headers(sandbox, start, end) -> set[tuple]:
    return {
        (r["id"], name, value)
        for r in sandbox.truth.bandwidth_calls(start, end)
        for name, value in (r.get("sipHeaders") or {}).items()
    }


def loaded_calls(cli) -> set[tuple]:
    return set(
        cli.query(
            'select id, state, direction, "from", "to", start_time, active_time, end_time, chargeable_duration '
            "from bandwidth.calls"
        )
    )


def loaded_headers(cli) -> set[tuple]:
    return set(cli.query("select call_id, name, value from bandwidth.calls__sip_headers"))


def bandwidth_state(cli) -> dict:
    return cli.source_state("bandwidth")


def summary_requests(stderr: str) -> int:
    return int(re.search(r"bandwidth: ok, .* (\d+) requests", stderr).group(1))


def first_window_start(stderr: str) -> pendulum.DateTime:
    return pendulum.parse(re.search(r"bandwidth: window 1/\d+ \[(\S+),", stderr).group(1))


@pytest.fixture
def sandbox(make_sandbox):
    return make_sandbox(bandwidth_calls_per_day=1000)


def test_old_range_backfill_loads_exactly_its_calls_within_the_seek_budget(sandbox, cli):
    run = cli(sandbox, **UNPACED)
    sandbox.reset_stats()
    result = run(*BACKFILL)
    assert result.returncode == 0, result.output

    truth = truth_calls(sandbox, RANGE_START, RANGE_END)
    assert loaded_calls(run) == truth
    assert len(truth) > 1500
    # The budget: finding the first page costs log2(pages of history), then one request per page.
    history = len(sandbox.truth.bandwidth_calls(BEFORE_HISTORY, sandbox.now().add(seconds=1)))
    before = len(sandbox.truth.bandwidth_calls(BEFORE_HISTORY, RANGE_START))
    pages = math.ceil(history / PAGE_SIZE)
    pages_in_range = (before + len(truth) - 1) // PAGE_SIZE - before // PAGE_SIZE + 1
    budget = math.ceil(math.log2(pages)) + pages_in_range + 2
    served = sandbox.stats()["bandwidth"]["requests"]
    assert served == summary_requests(result.stderr)
    assert served <= budget, f"{served} requests for {pages_in_range} pages in range of {pages}"
    assert pages >= 30 and pages_in_range < pages / 5  # a range worth seeking, not the whole list

    types = dict(
        run.query(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'bandwidth' and table_name = 'calls'"
        )
    )
    assert types["start_time"] == types["active_time"] == types["end_time"] == "TIMESTAMP WITH TIME ZONE"
    assert types["chargeable_duration"] == "BIGINT"
    assert types["from"] == types["to"] == "VARCHAR"
    served_times = {r["startTime"][19] for r in sandbox.truth.bandwidth_calls(RANGE_START, RANGE_END)}
    assert served_times == {".", "Z"}, "the sandbox should send timestamps with and without milliseconds"


def test_sip_headers_are_one_row_per_header_with_awkward_values_intact(sandbox, cli):
    run = cli(sandbox, **UNPACED)
    assert run(*BACKFILL).returncode == 0
    truth = truth_headers(sandbox, RANGE_START, RANGE_END)
    assert loaded_headers(run) == truth
    values = {value for _, _, value in truth}
    for awkward in ("=", ";", ",", '"'):
        assert any(awkward in v for v in values), awkward
    assert any(not v.isascii() for v in values)
    columns = {
        r[0]
        for r in run.query(
            "select column_name from information_schema.columns where table_schema = 'bandwidth' and table_name like 'calls%'"
        )
    }
    assert not {c for c in columns if c.startswith("sip_headers")}, "a header map must not become columns"
    assert {"call_id", "name", "value"} <= columns


def test_calls_open_at_a_nightly_run_are_final_after_the_next_one(sandbox, cli):
    now = sandbox.advance(hours=11)  # midday in the vendor's office hours: many calls are up
    start = now.subtract(days=1)
    # A call still up after more than the 6h lookback: only "re-read from the oldest open call"
    # brings it back.
    long_call_start = now.subtract(hours=8)
    stuck_call(sandbox, "c-longrunningcall0000000001", long_call_start)
    run = cli(sandbox, SOURCES__BANDWIDTH__START_DATE=start.isoformat(), **UNPACED)
    first = run("run", "--source", "bandwidth")
    assert first.returncode == 0, first.output
    assert loaded_calls(run) == truth_calls(sandbox, start, sandbox.now())
    open_then = {r["id"] for r in sandbox.truth.bandwidth_calls(start, sandbox.now()) if r["state"] not in FINAL_STATES}
    assert len(open_then) > 5, open_then
    assert pendulum.parse(bandwidth_state(run)["oldest_open_call"]) == long_call_start

    sandbox.advance(hours=5)  # generated calls last at most about 4 hours
    second = run("run", "--source", "bandwidth")
    assert second.returncode == 0, second.output
    assert loaded_calls(run) == truth_calls(sandbox, start, sandbox.now())
    assert first_window_start(second.stderr) == long_call_start  # not cursor - 6h
    ended = run.query(
        f"select id, state, end_time, chargeable_duration from bandwidth.calls where id in ({', '.join('?' for _ in open_then)})",
        sorted(open_then),
    )
    generated = [row for row in ended if row[0] != "c-longrunningcall0000000001"]
    assert len(generated) == len(open_then) - 1
    assert all(state in FINAL_STATES and end and duration is not None for _, state, end, duration in generated)


def test_paced_client_stays_under_one_request_per_second_without_429s(make_sandbox, cli):
    sandbox = make_sandbox(bandwidth_calls_per_day=300, bandwidth_rps=1.0)
    run = cli(sandbox)  # the default pacing: 1 request per second
    result = run(*BACKFILL)
    assert result.returncode == 0, result.output
    assert loaded_calls(run) == truth_calls(sandbox, RANGE_START, RANGE_END)
    stats = sandbox.stats()["bandwidth"]
    assert stats["429"] <= 2
    assert stats["2xx"] >= 3


def test_a_429_waits_until_the_reset_instant_instead_of_retrying_at_once(make_sandbox, cli):
    sandbox = make_sandbox(bandwidth_calls_per_day=300, bandwidth_rps=1.0)
    run = cli(sandbox, **UNPACED)  # no pacing: every request after the first meets the limit
    started = time.monotonic()
    result = run(*BACKFILL)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.output
    assert loaded_calls(run) == truth_calls(sandbox, RANGE_START, RANGE_END)
    stats = sandbox.stats()["bandwidth"]
    # One wait per request at most: a 429 is followed by a request after X-RateLimit-Reset, which
    # succeeds. Reading the epoch-milliseconds header as seconds would wait forever instead.
    assert 1 <= stats["429"] <= stats["2xx"]
    assert elapsed < stats["2xx"] * 1.5 + 15


# DuckLake's Bandwidth rows are checked by tests/warehouse/test_ducklake.py (two sources at once):
# its minute here would not fit `make test`'s budget.
@pytest.mark.parametrize("warehouse_kind", ["duckdb", "postgres"])
def test_rerunning_a_backfill_leaves_identical_rows_and_never_moves_the_nightly_cursor(sandbox, cli):
    run = cli(sandbox, SOURCES__BANDWIDTH__START_DATE=TEST_NOW.subtract(hours=12).isoformat(), **UNPACED)
    every_column = "select * exclude (_dlt_load_id) from bandwidth.{} order by all"
    assert run(*BACKFILL).returncode == 0
    first = [run.query(every_column.format(t)) for t in ("calls", "calls__sip_headers")]
    assert len(first[0]) == len(truth_calls(sandbox, RANGE_START, RANGE_END))
    again = run(*BACKFILL)
    assert again.returncode == 0, again.output
    assert [run.query(every_column.format(t)) for t in ("calls", "calls__sip_headers")] == first
    assert bandwidth_state(run).get("cursor") is None

    assert run("run", "--source", "bandwidth").returncode == 0
    cursor = bandwidth_state(run)["cursor"]
    assert pendulum.parse(cursor) == sandbox.now()
    assert run(*BACKFILL).returncode == 0
    assert bandwidth_state(run)["cursor"] == cursor


def test_a_header_the_vendor_no_longer_sends_goes_with_its_redelivered_call(sandbox, cli):
    import duckdb

    run = cli(sandbox, **UNPACED)
    assert run(*BACKFILL).returncode == 0
    headerless = run.query(
        "select id from bandwidth.calls c where not exists (select 1 from "
        "bandwidth.calls__sip_headers h where h.call_id = c.id) order by id limit 1"
    )[0][0]
    with_headers = run.query("select call_id from bandwidth.calls__sip_headers order by call_id limit 1")[0][0]
    con = duckdb.connect(str(run.warehouse))
    try:  # as if earlier deliveries had carried headers these calls no longer have
        for call_id in (headerless, with_headers):
            con.execute(
                "insert into bandwidth.calls__sip_headers (call_id, name, value, _dlt_load_id) "
                "values (?, 'X-Dropped', 'old', '1')",
                [call_id],
            )
    finally:
        con.close()
    assert run(*BACKFILL).returncode == 0
    assert loaded_headers(run) == truth_headers(sandbox, RANGE_START, RANGE_END)


def test_malformed_records_are_quarantined_and_the_rest_loads(make_sandbox, cli):
    sandbox = make_sandbox(bandwidth_calls_per_day=1000, bad_record_rate=0.01)
    run = cli(sandbox, **UNPACED)
    result = run(*BACKFILL)
    assert result.returncode == 0, result.output
    assert "Traceback" not in result.output
    bad = sandbox.truth.bad_records("bandwidth", RANGE_START, RANGE_END)
    # A field the schema does not know yet is no defect here: it loads as a new text column.
    unknown_field = {b["id"] for b in bad if b["defect"] == "extra_field"}
    rejected = [b for b in bad if b["defect"] != "extra_field"]
    assert unknown_field and rejected
    assert {r[0] for r in loaded_calls(run)} == {r[0] for r in truth_calls(sandbox, RANGE_START, RANGE_END)} | unknown_field
    quarantined = {
        json.dumps(json.loads(raw), sort_keys=True): reason
        for raw, reason in run.query("select raw_json, reason from bandwidth.quarantine")
    }
    expected = {json.dumps(b["record"], sort_keys=True) for b in rejected}
    assert expected <= quarantined.keys()
    # Beyond those, only records whose startTime cannot be read, from the pages at the range's
    # edges: they cannot be placed in time, so they are kept rather than guessed away.
    for extra in quarantined.keys() - expected:
        assert "startTime" in quarantined[extra]
    assert f"{len(quarantined)} quarantined" in result.stderr


def test_wrong_api_secret_fails_with_one_line_and_never_prints_the_secret(sandbox, cli):
    bad_secret = "not-the-secret-7d41c2"
    result = cli(sandbox, SOURCES__BANDWIDTH__API_SECRET=bad_secret, **UNPACED)(*BACKFILL)
    assert result.returncode == 1
    assert bad_secret not in result.output
    assert "Traceback" not in result.output
    failure = [line for line in result.output.splitlines() if "bandwidth" in line and "FAILED" in line]
    assert len(failure) == 1 and "SOURCES__BANDWIDTH__API_SECRET" in failure[0]


def _pages_from(sandbox, start) -> int:
    """Requests to read the ascending list from the page holding the first call at or after
    `start` to its end (one more when the last page is full: its `next` link leads to an empty one)."""
    history = len(sandbox.truth.bandwidth_calls(BEFORE_HISTORY, sandbox.now().add(seconds=1)))
    before = len(sandbox.truth.bandwidth_calls(BEFORE_HISTORY, start))
    return (history - 1) // PAGE_SIZE - before // PAGE_SIZE + 1 + (history % PAGE_SIZE == 0)


def test_the_next_nightly_run_reads_only_the_pages_it_loads(sandbox, cli):
    start = sandbox.now().subtract(days=2)
    run = cli(sandbox, SOURCES__BANDWIDTH__START_DATE=start.isoformat(), **UNPACED)
    first = run("run", "--source", "bandwidth")
    assert first.returncode == 0, first.output
    assert "binary search" in first.stderr  # nothing known yet: the first run searches

    sandbox.advance(hours=9)
    sandbox.reset_stats()
    second = run("run", "--source", "bandwidth")
    assert second.returncode == 0, second.output
    assert loaded_calls(run) == truth_calls(sandbox, start, sandbox.now())
    served = sandbox.stats()["bandwidth"]["requests"]
    assert served == summary_requests(second.stderr)
    assert served == _pages_from(sandbox, first_window_start(second.stderr)), second.stderr
    assert "page index" in second.stderr


def test_each_later_checkpoint_of_a_backfill_costs_one_request_not_a_seek(sandbox, cli):
    whole = cli(sandbox, **UNPACED)
    sandbox.reset_stats()
    assert whole(*BACKFILL).returncode == 0
    one_load = sandbox.stats()["bandwidth"]["requests"]

    (whole.workdir / "checkpointed").mkdir()
    checkpointed = cli(sandbox, SOURCES__BANDWIDTH__CHECKPOINT_ROWS="1", **UNPACED)
    checkpointed.workdir = whole.workdir / "checkpointed"
    sandbox.reset_stats()
    result = checkpointed(*BACKFILL)
    assert result.returncode == 0, result.output
    assert loaded_calls(checkpointed) == truth_calls(sandbox, RANGE_START, RANGE_END)
    loads = result.stderr.count("bandwidth: window")  # one checkpoint per daily window
    assert loads == 3
    # A later checkpoint reads again the page its window starts on (the previous checkpoint read
    # it for the end of its own window); the page index spares it the binary search.
    assert sandbox.stats()["bandwidth"]["requests"] == one_load + loads - 1, result.stderr
    assert result.stderr.count("(page index)") == loads - 1


def test_calls_inserted_into_the_past_shift_the_pages_and_nothing_is_missed(sandbox, cli):
    start = sandbox.now().subtract(days=2)
    run = cli(sandbox, SOURCES__BANDWIDTH__START_DATE=start.isoformat(), **UNPACED)
    assert run("run", "--source", "bandwidth").returncode == 0
    # Late-listed calls far in the past push every later call one place on: the indexed pages
    # now start earlier than recorded.
    past = sandbox.now().subtract(days=20)
    for n in range(PAGE_SIZE // 2):
        at = past.add(minutes=n)
        sandbox.add_bandwidth_call(
            {
                "id": f"c-insertedintothepast{n:07d}",
                "direction": "in",
                "from": "+14155550123",
                "to": "+19195550100",
                "state": "completed",
                "startTime": at.format("YYYY-MM-DDTHH:mm:ss") + "Z",
                "activeTime": at.add(seconds=5).format("YYYY-MM-DDTHH:mm:ss") + "Z",
                "endTime": at.add(seconds=65).format("YYYY-MM-DDTHH:mm:ss") + "Z",
                "chargeableDuration": 60,
            }
        )
    sandbox.advance(hours=9)
    sandbox.reset_stats()
    second = run("run", "--source", "bandwidth")
    assert second.returncode == 0, second.output
    assert loaded_calls(run) == truth_calls(sandbox, start, sandbox.now())
    assert sandbox.stats()["bandwidth"]["requests"] <= _pages_from(sandbox, first_window_start(second.stderr)) + 1


def test_next_links_without_sort_order_still_load_every_call_of_the_range(make_sandbox, cli):
    # Bandwidth's SDK test mocks show `next` links with only page and size; a request without
    # sortOrder is answered in the documented default, descending. Following such a link read
    # the wrong pages and lost calls while exiting 0; pages are now asked for by number.
    sandbox = make_sandbox(bandwidth_calls_per_day=1000, bandwidth_bare_links=True)
    run = cli(sandbox, **UNPACED)
    result = run(*BACKFILL)
    assert result.returncode == 0, result.output
    assert loaded_calls(run) == truth_calls(sandbox, RANGE_START, RANGE_END)


def test_a_vendor_ignoring_the_ascending_order_stops_the_run_with_one_line(make_sandbox, cli):
    sandbox = make_sandbox(bandwidth_calls_per_day=1000, bandwidth_ignores_sort_order=True)
    run = cli(sandbox, **UNPACED)
    result = run(*BACKFILL)
    assert result.returncode == 1, result.output
    failed = [line for line in result.stderr.splitlines() if "FAILED" in line]
    assert len(failed) == 1, result.stderr
    assert failed[0].startswith("bandwidth: FAILED: page ")
    assert "not in ascending startTime order" in failed[0] and "sortOrder=asc" in failed[0]
    assert "Traceback" not in result.output


def summary_pages(stderr: str) -> int:
    return int(re.search(r"bandwidth: ok, .* (\d+) pages", stderr).group(1))


def stuck_call(sandbox, call_id: str, start) -> None:
    sandbox.add_bandwidth_call(
        {
            "id": call_id,
            "direction": "in",
            "from": "+14155550123",
            "to": "+19195550100",
            "state": "active",
            "startTime": start.format("YYYY-MM-DDTHH:mm:ss") + "Z",
            "activeTime": start.add(seconds=9).format("YYYY-MM-DDTHH:mm:ss") + "Z",
        }
    )


def test_an_open_call_from_before_the_lookback_is_rechecked_by_id_when_that_is_cheaper(sandbox, cli):
    now = sandbox.now()
    stuck_call(sandbox, "c-openforthreedays00000001", now.subtract(days=3))
    run = cli(sandbox, SOURCES__BANDWIDTH__START_DATE=now.subtract(days=4).isoformat(), **UNPACED)
    first = run("run", "--source", "bandwidth")
    assert first.returncode == 0, first.output
    assert "c-openforthreedays00000001" in bandwidth_state(run)["open_calls"]

    sandbox.advance(hours=5)
    second = run("run", "--source", "bandwidth")
    assert second.returncode == 0, second.output
    # Re-reading three days of pages would cost ~3 requests more; one request by id is cheaper.
    assert first_window_start(second.stderr) == pendulum.parse(bandwidth_state(run)["cursor"]).subtract(hours=5 + 6)
    assert "re-checked 1 open calls from before the lookback by id" in second.stderr
    assert summary_requests(second.stderr) == summary_pages(second.stderr) + 1
    assert loaded_calls(run) == truth_calls(sandbox, now.subtract(days=4), sandbox.now())


def test_a_call_stuck_open_for_a_year_is_not_re_read_every_night_and_is_reported(make_sandbox, cli):
    sandbox = make_sandbox(bandwidth_calls_per_day=100, history_days=370)
    now = sandbox.now()
    stuck_start = now.subtract(days=365)
    stuck_call(sandbox, "c-stuckopenforayear0000001", stuck_start)
    run = cli(sandbox, SOURCES__BANDWIDTH__START_DATE=now.subtract(days=1).isoformat(), **UNPACED)
    backfill = run("backfill", "--source", "bandwidth", "--start", stuck_start.to_date_string(), "--end", now.to_date_string())
    assert backfill.returncode == 0, backfill.output
    assert bandwidth_state(run)["stale_open_calls"] == {
        "c-stuckopenforayear0000001": stuck_start.format("YYYY-MM-DDTHH:mm:ss.SSS") + "Z"
    }

    first = run("run", "--source", "bandwidth")
    assert first.returncode == 0, first.output
    sandbox.advance(hours=6)
    second = run("run", "--source", "bandwidth")
    assert second.returncode == 0, second.output
    # The nightly reads its lookback and nothing of the year behind it: every request is a page
    # it loads (the cheaper plan; re-reading from the stuck call would be the whole list).
    assert summary_count_windows(second.stderr) <= 2
    assert summary_requests(second.stderr) == summary_pages(second.stderr)
    assert loaded_calls(run) == truth_calls(sandbox, stuck_start.start_of("day"), sandbox.now())

    status = run("status")
    assert "open calls past the horizon: 1 no longer re-checked" in status.stdout
    assert "c-stuckopenforayear0000001 open since" in status.stdout
    check = run("check")
    assert check.returncode == 0, check.output
    assert "WARN bandwidth: open calls past the horizon: 1 calls still open are no longer re-checked" in check.stdout


def summary_count_windows(stderr: str) -> int:
    return int(re.search(r"bandwidth: ok, .*; (\d+) windows", stderr).group(1))
