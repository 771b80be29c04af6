"""CINNOX call-detail end to end: the real CLI, the sandbox over HTTP, a real DuckDB file."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime

import pendulum
import pytest

from tests.conftest import TEST_NOW, on_each_warehouse

RANGE_START = TEST_NOW.start_of("day").subtract(days=8)
RANGE_END = RANGE_START.add(days=7)
BACKFILL = ("backfill", "--source", "cinnox", "--start", RANGE_START.to_date_string(), "--end", RANGE_END.to_date_string())


def ts(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def phone(value: object) -> str | None:
    return None if value is None else str(value)


def truth_tables(sandbox, start, end) -> tuple[set, set, set]:
    calls, events, files = set(), set(), set()
    for record in sandbox.truth.cinnox_calls(start, end):
        calls.add(
            (
                record["id"],
                ts(record["callDate"]),
                ts(record.get("callEndTime")),
                phone(record.get("caller")),
                phone(record.get("callee")),
                record.get("status"),
            )
        )
        for e_index, event in enumerate(record.get("recordingEventList") or []):
            events.add((record["id"], e_index, event.get("recorderEID"), ts(event.get("startAt")), ts(event.get("endAt"))))
            for f_index, file in enumerate(event.get("files") or []):
                files.add(
                    (record["id"], e_index, f_index, file["id"], int(file["duration"]), int(file["size"]), file["mimeType"])
                )
    return calls, events, files


def warehouse_tables(cli) -> tuple[set, set, set]:
    calls = set(cli.query("select id, call_date, call_end_time, caller, callee, status from cinnox.call_detail"))
    events = set(
        cli.query(
            "select call_detail_id, event_index, recorder_eid, start_at, end_at from cinnox.call_detail__recording_event_list"
        )
    )
    files = set(
        cli.query(
            "select call_detail_id, event_index, file_index, id, duration, size, mime_type "
            "from cinnox.call_detail__recording_event_list__files"
        )
    )
    return calls, events, files


def counts(cli) -> tuple[int, int, int]:
    return tuple(
        cli.query(f"select count(*) from cinnox.{t}")[0][0]
        for t in ("call_detail", "call_detail__recording_event_list", "call_detail__recording_event_list__files")
    )


def cinnox_state(cli) -> dict:
    return cli.source_state("cinnox")


@pytest.fixture
def sandbox(make_sandbox):
    # 700 calls a day: each daily window needs two 500-row pages, so offset paging is exercised.
    return make_sandbox(cinnox_calls_per_day=700)


@on_each_warehouse
def test_backfill_loads_exactly_the_truths_calls_recordings_and_files(sandbox, cli):
    run = cli(sandbox)
    result = run(*BACKFILL)
    assert result.returncode == 0, result.output
    truth = truth_tables(sandbox, RANGE_START, RANGE_END)
    loaded = warehouse_tables(run)
    assert loaded[0] == truth[0]
    assert loaded[1] == truth[1]
    assert loaded[2] == truth[2]
    assert len(truth[0]) > 3000 and truth[1] and truth[2]
    # Phone numbers sent as JSON numbers keep their digits; strings keep their `+`.
    kinds = {type(r.get("caller")) for r in sandbox.truth.cinnox_calls(RANGE_START, RANGE_END)}
    assert kinds == {int, str}
    types = dict(
        run.query(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'cinnox' and table_name = 'call_detail'"
        )
    )
    assert types["call_date"] == types["call_end_time"] == "TIMESTAMP WITH TIME ZONE"
    assert types["caller"] == types["callee"] == "VARCHAR"
    assert "cinnox: ok" in result.stderr and "7 windows" in result.stderr


@on_each_warehouse
def test_running_the_same_backfill_again_changes_nothing(sandbox, cli):
    run = cli(sandbox)
    assert run(*BACKFILL).returncode == 0
    first, first_counts = warehouse_tables(run), counts(run)
    again = run(*BACKFILL)
    assert again.returncode == 0, again.output
    assert warehouse_tables(run) == first
    assert counts(run) == first_counts


def test_signed_download_urls_are_stored_without_their_signature(sandbox, cli):
    run = cli(sandbox)
    assert run(*BACKFILL).returncode == 0
    urls = [r[0] for r in run.query("select download_url from cinnox.call_detail__recording_event_list__files")]
    assert urls and not any(re.search(r"(?i)signature|credential", u) for u in urls)
    served = [
        f["downloadUrl"]
        for r in sandbox.truth.cinnox_calls(RANGE_START, RANGE_END)
        for e in r.get("recordingEventList") or []
        for f in e.get("files") or []
    ]
    assert any(re.search(r"(?i)signature", u) for u in served), "sandbox should serve signed URLs"


def test_backfill_does_not_move_the_nightly_cursor(sandbox, cli):
    run = cli(sandbox, SOURCES__CINNOX__START_DATE=RANGE_START.add(days=5).isoformat())
    assert run(*BACKFILL).returncode == 0
    assert cinnox_state(run).get("cursor") is None
    assert run("run", "--source", "cinnox").returncode == 0
    cursor = cinnox_state(run)["cursor"]
    assert pendulum.parse(cursor) == sandbox.now()
    older = (
        "backfill",
        "--source",
        "cinnox",
        "--start",
        RANGE_START.subtract(days=3).to_date_string(),
        "--end",
        RANGE_START.to_date_string(),
    )
    assert run(*older).returncode == 0
    assert cinnox_state(run)["cursor"] == cursor


def test_nightly_run_resumes_from_cursor_and_picks_up_late_calls_inside_the_lookback(sandbox, cli):
    start = RANGE_END.subtract(days=2)
    run = cli(sandbox, SOURCES__CINNOX__START_DATE=start.isoformat())
    first = run("run", "--source", "cinnox")
    assert first.returncode == 0, first.output
    before = {r[0] for r in truth_tables(sandbox, start, sandbox.now())[0]}
    assert {r[0] for r in warehouse_tables(run)[0]} == before

    sandbox.advance(hours=30)
    after = truth_tables(sandbox, start, sandbox.now())[0]
    late = {r[0] for r in after if r[1] < TEST_NOW} - before
    assert late, "the sandbox should deliver some calls late into past windows"

    second = run("run", "--source", "cinnox")
    assert second.returncode == 0, second.output
    assert warehouse_tables(run)[0] == after
    # Resumed from the cursor minus the 2-day lookback, not from START_DATE.
    first_window = re.search(r"window 1/\d+ \[(\S+),", second.stderr).group(1)
    assert pendulum.parse(first_window) == TEST_NOW.subtract(days=2)


def test_interrupted_backfill_resumes_at_the_first_unfinished_window(make_sandbox, cli):
    sandbox = make_sandbox(cinnox_calls_per_day=300, latency_ms=150)
    run = cli(sandbox, SOURCES__CINNOX__CHECKPOINT_ROWS="1")  # commit after every window
    env = {
        **os.environ,
        **sandbox.env(),
        "CALLHOUSE_WAREHOUSE": str(run.warehouse),
        "CALLHOUSE_NOW": sandbox.now().isoformat(),
        "SOURCES__CINNOX__CHECKPOINT_ROWS": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", *BACKFILL], cwd=run.workdir, env=env, stderr=subprocess.PIPE, text=True
    )
    done_lines = 0
    deadline = time.monotonic() + 120
    while done_lines < 4 and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        done_lines += "window" in line
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert done_lines >= 4, "backfill ended before it could be interrupted"

    resumed = run(*BACKFILL)
    assert resumed.returncode == 0, resumed.output
    first_window = re.search(r"window 1/(\d+) \[(\S+),", resumed.stderr)
    assert int(first_window.group(1)) < 7
    assert pendulum.parse(first_window.group(2)) > RANGE_START
    assert warehouse_tables(run) == truth_tables(sandbox, RANGE_START, RANGE_END)
    assert cinnox_state(run).get("cursor") is None


def test_wrong_token_fails_with_one_line_and_never_prints_the_token(sandbox, cli):
    bad_token = "not-the-token-3f9a1c"
    result = cli(sandbox, SOURCES__CINNOX__APP_TOKEN=bad_token)(*BACKFILL)
    assert result.returncode == 1
    assert bad_token not in result.output
    assert "Traceback" not in result.output
    failure = [line for line in result.stderr.splitlines() if "cinnox" in line and "FAILED" in line]
    assert len(failure) == 1 and "SOURCES__CINNOX__APP_TOKEN" in failure[0]


def test_naming_an_unconfigured_source_is_a_configuration_error(cli, tmp_path):
    result = cli(None)(*BACKFILL)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "SOURCES__CINNOX__APP_TOKEN" in result.stderr


def _constructed_call(call_id: str, at: pendulum.DateTime, events: int, files_per_event: int) -> dict:
    stamp = at.format("YYYY-MM-DDTHH:mm:ss.SSS") + "Z"
    return {
        "id": call_id,
        "callDate": stamp,
        "callEndTime": at.add(minutes=5).format("YYYY-MM-DDTHH:mm:ss.SSS") + "Z",
        "caller": "+85230001234",
        "callee": 85230005678,
        "status": "Call Ended",
        "callDirection": "Inbound",
        "recordingEventList": [
            {
                "recorderEID": f"staff-{e}",
                "startAt": stamp,
                "endAt": stamp,
                "code": 0,
                "files": [
                    {
                        "id": f"{call_id}-f{e}{f}",
                        "name": "rec.mp3",
                        "downloadUrl": "https://rec.example/x.mp3",
                        "duration": 1000,
                        "mimeType": "audio/mpeg",
                        "size": 2048,
                        "type": 3,
                        "isPrivate": True,
                    }
                    for f in range(files_per_event)
                ],
            }
            for e in range(events)
        ],
    }


def test_a_call_redelivered_with_fewer_recordings_loses_the_old_child_rows(make_sandbox, cli):
    day = RANGE_START.add(days=2)
    at = day.add(hours=10)
    first = make_sandbox(cinnox_calls_per_day=50)
    first.add_cinnox_call(_constructed_call("call-shrinks", at, events=2, files_per_event=2))
    first.add_cinnox_call(_constructed_call("call-loses-all", at.add(minutes=1), events=1, files_per_event=2))
    backfill = ("backfill", "--source", "cinnox", "--start", day.to_date_string(), "--end", day.add(days=1).to_date_string())
    assert cli(first)(*backfill).returncode == 0

    # The vendor now reports the same calls with fewer recordings (same seed: all else equal).
    second = make_sandbox(cinnox_calls_per_day=50)
    second.add_cinnox_call(_constructed_call("call-shrinks", at, events=1, files_per_event=1))
    second.add_cinnox_call(_constructed_call("call-loses-all", at.add(minutes=1), events=0, files_per_event=0))
    run = cli(second)
    result = run(*backfill)
    assert result.returncode == 0, result.output

    events = run.query(
        "select call_detail_id, count(*) from cinnox.call_detail__recording_event_list "
        "where call_detail_id like 'call-%' group by 1"
    )
    files = run.query(
        "select call_detail_id, count(*) from cinnox.call_detail__recording_event_list__files "
        "where call_detail_id like 'call-%' group by 1"
    )
    assert dict(events) == {"call-shrinks": 1}
    assert dict(files) == {"call-shrinks": 1}
    assert warehouse_tables(run) == truth_tables(second, day, day.add(days=1))


def test_malformed_records_are_quarantined_with_reasons_and_new_fields_are_kept(make_sandbox, cli):
    sandbox = make_sandbox(cinnox_calls_per_day=700, bad_record_rate=0.03)
    run = cli(sandbox)
    result = run(*BACKFILL)
    assert result.returncode == 0, result.output
    bad = sandbox.truth.bad_records("cinnox", RANGE_START, RANGE_END)
    broken = [b for b in bad if b["defect"] != "extra_field"]
    extra = [b for b in bad if b["defect"] == "extra_field"]
    assert {b["defect"] for b in broken} == {"missing_id", "bad_timestamp", "wrong_type"} and extra

    reasons = [r[0] for r in run.query("select reason from cinnox.quarantine")]
    assert len(reasons) == len(broken)
    assert sum("missing id" in r for r in reasons) == sum(b["defect"] == "missing_id" for b in broken)
    assert sum("callDate" in r for r in reasons) == sum(b["defect"] == "bad_timestamp" for b in broken)
    assert sum("seq" in r for r in reasons) == sum(b["defect"] == "wrong_type" for b in broken)
    assert f"{len(broken)} quarantined" in result.stderr
    assert f"quarantined: {len(broken)} records" in run("status").stdout

    # Valid records all load; a record with an undocumented field loads too, the field kept.
    loaded = {r[0] for r in run.query("select id from cinnox.call_detail")}
    good = {r["id"] for r in sandbox.truth.cinnox_calls(RANGE_START, RANGE_END)}
    assert loaded == good | {b["id"] for b in extra}
    kept = dict(run.query("select id, unexpected_field from cinnox.call_detail where unexpected_field is not null"))
    assert set(kept) == {b["id"] for b in extra}


def test_windows_fetched_concurrently_load_the_same_rows(make_sandbox, cli):
    sandbox = make_sandbox(cinnox_calls_per_day=700, latency_ms=20)
    run = cli(sandbox, SOURCES__CINNOX__CONCURRENCY="3", SOURCES__CINNOX__CHECKPOINT_ROWS="2000")
    result = run(*BACKFILL)
    assert result.returncode == 0, result.output
    assert warehouse_tables(run) == truth_tables(sandbox, RANGE_START, RANGE_END)
    assert counts(run) == tuple(len(t) for t in truth_tables(sandbox, RANGE_START, RANGE_END))
    done = [line for line in result.stderr.splitlines() if " window " in line and "rows" in line]
    starts = [re.search(r"\[(\S+),", line).group(1) for line in done]
    assert starts == sorted(starts) and len(starts) == 7, "windows are committed in order"
