"""A CINNOX call with status "Call Ended" but no `callEndTime` key, as a real account sends some
(issue 24.10): answered, its end and talk time unknown (NULL), and `callhouse check` passes on
the DuckDB file and PostgreSQL (a DuckLake runs the file's SQL)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from tests.conftest import TEST_NOW
from tests.views import reference as ref
from tests.views.conftest import FAST_ENV, NIGHTLY_START

STARTED = TEST_NOW.subtract(hours=2)
ENDED = STARTED.add(minutes=4, seconds=30)


def _call(call_id: str, started: datetime, ended: datetime | None) -> dict:
    record = {
        "id": call_id,
        "callDate": started.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "caller": "+85230001234",
        "callee": "+85230005678",
        "status": "Call Ended",
        "callDirection": "Inbound",
        "callType": "offnet",
        "recordingEventList": [],
    }
    if ended is not None:
        record["callEndTime"] = ended.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return record


# The DuckDB file and PostgreSQL: the two SQL dialects of the views (a DuckLake runs the file's).
@pytest.mark.parametrize("warehouse_kind", ["duckdb", "postgres"])
def test_a_call_ended_without_its_end_time_is_answered_with_unknown_talk_time_and_passes_check(make_sandbox, cli):
    sandbox = make_sandbox(cinnox_calls_per_day=40)
    sandbox.add_cinnox_call(_call("call-no-end", STARTED, None))
    sandbox.add_cinnox_call(_call("call-with-end", STARTED.add(minutes=1), ENDED.add(minutes=1)))
    run = cli(sandbox, **FAST_ENV)
    loaded = run("run", "--source", "cinnox")
    assert loaded.returncode == 0, loaded.output
    checked = run("check")
    assert checked.returncode == 0, checked.output
    assert " 0 failed, 0 warnings" in checked.stdout.strip().splitlines()[-1], checked.output
    rows = run.query(
        "select call_id, started_at, answered_at, ended_at, ring_s, talk_s, outcome, status_raw "
        "from reporting.calls where call_id like 'call-%' order by call_id"
    )
    assert rows == [
        ("call-no-end", STARTED, None, None, None, None, "answered", "Call Ended"),
        ("call-with-end", STARTED.add(minutes=1), None, ENDED.add(minutes=1), None, Decimal("270.000"), "answered", "Call Ended"),
    ]

    # Its talk time is unknown, not zero: the day's average is over the calls with one; and it
    # is in progress at no known hour: the peaks are the truth's without it.
    truth = ref.cinnox_calls(sandbox.truth.cinnox_calls(NIGHTLY_START, sandbox.now()))
    expected_days = ref.daily_calls(truth, "UTC")
    days = run.query("select day, vendor, direction, answered, talk_s_total, talk_s_avg from reporting.daily_calls")
    assert {(d, v, w) for d, v, w, *_ in days} == set(expected_days)
    for day, vendor, direction, answered, total, average in days:
        want = expected_days[(day, vendor, direction)]
        assert (answered, Decimal(str(total))) == (want["answered"], want["talk_s_total"])  # PostgreSQL: a float
        assert average == pytest.approx(want["talk_s_avg"], rel=1e-12)
    peaks = {(h, v): p for h, v, p in run.query("select hour, vendor, peak_concurrent_calls from reporting.hourly_concurrency")}
    expected_peaks = ref.hourly_peaks(truth, "UTC")
    assert peaks and peaks == {key: expected_peaks[key] for key in peaks}
