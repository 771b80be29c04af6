"""Edge cases of the page -> typed rows path (issue 27), end to end: the real CLI, the sandbox over
HTTP, a real DuckDB file.

- a page of only bad records: every one quarantined whole with its reason, the pages around it
  loaded, the run and its checkpoints as on a clean run;
- a field whose type changes between pages (and between windows, each its own load);
- a huge page, one response far bigger than the vendor's usual limit, with a bad record inside;
- and what a page may hold that a typing path can get wrong for the rest of it: an undeclared field
  named like a declared column, a number beyond 64 bits.

Records are injected at a chosen instant so that they fill whole pages of a window exactly (the
client's page size is a setting); every assertion compares with what the sandbox served.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import orjson
import pendulum
import pytest

import pipelines.sandbox.cinnox.api as cinnox_api
from tests.conftest import TEST_NOW
from tests.sources.test_cinnox import phone, ts

DAY = TEST_NOW.start_of("day").subtract(days=2)
LIMIT = 10  # the client's page size in these tests: small pages, many of them


def backfill(source: str, start: pendulum.DateTime, days: int) -> tuple[str, ...]:
    return ("backfill", "--source", source, "--start", start.to_date_string(), "--end", start.add(days=days).to_date_string())


def stamp(at: datetime) -> str:
    return pendulum.instance(at).in_tz("UTC").format("YYYY-MM-DDTHH:mm:ss.SSS") + "Z"


def call(call_id: str, at: datetime, **fields: object) -> dict:
    """A CINNOX call at `at`, with `fields` replacing (or adding to) its usual ones."""
    record = {
        "id": call_id,
        "callDate": stamp(at),
        "callEndTime": stamp(at + timedelta(minutes=3)),
        "caller": "+85230001234",
        "callee": "+85230005678",
        "callDirection": "Inbound",
        "callType": "offnet",
        "status": "Call Ended",
        "seq": 1,
        "isRecording": False,
    }
    record.update(fields)
    return record


def slot(listed: list[dict], position: int) -> datetime:
    """An instant with exactly `position` of the `listed` calls (a day window's, as the sandbox
    lists them) before it and none at it: calls placed there take positions `position`,
    `position + 1`, ... of the window's list (same instant: in id order), so with `position` a
    multiple of the page size they fill whole pages."""
    before, after = ts(listed[position - 1]["callDate"]), ts(listed[position]["callDate"])
    assert after - before > timedelta(milliseconds=2), "no room between two calls: pick another position"
    return before + (after - before) / 2


def inject(sandbox, at: datetime, served: list[object], prefix: str) -> None:
    """Serve each of `served` (any JSON, objects or not) as a call listed at `at`, in this order."""
    for index, record in enumerate(served):
        # json, not orjson: it writes integers beyond 64 bits, as a vendor may
        sandbox.add_cinnox_call(call(f"{prefix}-{index:03d}", at), served=json.dumps(record).encode())


def us(text: str | None) -> int | None:
    """A vendor timestamp as microseconds since the epoch (how the tables are compared: fetching
    20,000 aware datetimes from DuckDB costs seconds)."""
    return None if text is None else round(ts(text).timestamp() * 1_000_000)


def cinnox_tables(records: list[dict]) -> tuple[set, set, set]:
    """Calls, recording events and files as the warehouse should hold them (as in test_cinnox.py)."""
    calls, events, files = set(), set(), set()
    for record in records:
        calls.add(
            (
                record["id"],
                us(record["callDate"]),
                us(record.get("callEndTime")),
                phone(record.get("caller")),
                phone(record.get("callee")),
                record.get("status"),
            )
        )
        for e_index, event in enumerate(record.get("recordingEventList") or []):
            events.add((record["id"], e_index, event.get("recorderEID"), us(event.get("startAt")), us(event.get("endAt"))))
            for f_index, file in enumerate(event.get("files") or []):
                files.add(
                    (record["id"], e_index, f_index, file["id"], int(file["duration"]), int(file["size"]), file["mimeType"])
                )
    return calls, events, files


def loaded_tables(run) -> tuple[set, set, set]:
    calls = run.query("select id, epoch_us(call_date), epoch_us(call_end_time), caller, callee, status from cinnox.call_detail")
    events = run.query(
        "select call_detail_id, event_index, recorder_eid, epoch_us(start_at), epoch_us(end_at) "
        "from cinnox.call_detail__recording_event_list"
    )
    files = run.query(
        "select call_detail_id, event_index, file_index, id, duration, size, mime_type "
        "from cinnox.call_detail__recording_event_list__files"
    )
    return set(calls), set(events), set(files)


def raw(record: object) -> str:
    """A record as quarantine.raw_json keeps it: compact JSON, keys sorted."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def quarantine(run, source: str = "cinnox") -> list[tuple]:
    """The source's quarantine rows, sorted; none when the table was never made (nothing went there)."""
    if not table_rows(run, source, "quarantine"):
        return []
    return sorted(run.query(f"select reason, raw_json, window_start, window_end from {source}.quarantine"))


def table_rows(run, schema: str, table: str) -> int:
    """Rows of a table; 0 when it was never made."""
    if not run.query("select 1 from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]):
        return 0
    return run.query(f'select count(*) from "{schema}"."{table}"')[0][0]


def column_types(run, schema: str, table: str) -> dict[str, str]:
    sql = "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ?"
    return dict(run.query(sql, [schema, table]))


def assert_read_to_now(state: dict, start: pendulum.DateTime) -> None:
    """The source's ledger as a clean nightly run from `start` leaves it: its plan finished at the
    sandbox's now, the cursor there, one range covered, nothing truncated."""
    plan = state["plans"]["nightly"]
    assert (pendulum.parse(plan["start"]), pendulum.parse(plan["done_until"]), plan["finished"]) == (start, TEST_NOW, True)
    assert pendulum.parse(state["cursor"]) == TEST_NOW
    assert [[pendulum.parse(a), pendulum.parse(b)] for a, b in state["coverage"]] == [[start, TEST_NOW]]
    assert "truncated" not in state


# --- 1. a page of only bad records ----------------------------------------------------------


def bad_pages(at: datetime) -> list[tuple[object, str]]:
    """Three whole pages of records that cannot be typed, each with its quarantine reason: one of
    unparseable timestamps only, one of a different defect each, one of records that are not
    objects. Every record differs (quarantine is keyed by content)."""
    unparseable = [
        (call(f"bad-ts-{i}", at, callDate=f"not a time {i}"), f"call.callDate: unparseable timestamp 'not a time {i}'")
        for i in range(LIMIT)
    ]
    at_text = stamp(at)
    mixed = [
        (call("bad-1", at, callDate=1763424000), "call.callDate: expected an ISO-8601 timestamp, got int"),
        (call("bad-2", at, callEndTime="2026-13-45T00:00:00Z"), "call.callEndTime: unparseable timestamp '2026-13-45T00:00:00Z'"),
        ({k: v for k, v in call("bad-3", at).items() if k != "id"}, "missing id"),
        ({k: v for k, v in call("bad-4", at).items() if k != "callDate"}, "missing callDate"),
        (call("bad-5", at, seq="abc"), "call.seq: expected an integer, got 'abc'"),
        (call("bad-6", at, seq=True), "call.seq: expected an integer, got a boolean"),
        (call("bad-7", at, isRecording="maybe"), "call.isRecording: expected true/false, got 'maybe'"),
        (call("bad-8", at, caller={"number": 85230001234}), "call.caller: expected text, got dict"),
        (call("bad-9", at, recordingEventList="none"), "recordingEventList is not a list"),
        (
            call("bad-10", at, recordingEventList=[{"recorderEID": "staff-1", "startAt": "soon", "endAt": at_text, "code": 0}]),
            "recordingEventList.startAt: unparseable timestamp 'soon'",
        ),
    ]
    not_objects = [
        ("not a call", "record is str, not an object"),
        ("", "record is str, not an object"),
        (42, "record is int, not an object"),
        (-7, "record is int, not an object"),
        (1.5, "record is float, not an object"),
        (None, "record is NoneType, not an object"),
        (True, "record is bool, not an object"),
        ([], "record is list, not an object"),
        ([call("bad-in-list", at)], "record is list, not an object"),
        ([1, "two"], "record is list, not an object"),
    ]
    assert len(mixed) == len(not_objects) == LIMIT
    return unparseable + mixed + not_objects


def test_pages_of_only_bad_records_go_to_quarantine_whole_and_the_run_goes_on(make_sandbox, cli):
    sandbox = make_sandbox(cinnox_calls_per_day=60)
    start = DAY.subtract(days=1)
    good = sandbox.truth.cinnox_calls(start, TEST_NOW)
    at = slot(sandbox.truth.cinnox_calls(DAY, DAY.add(days=1)), 2 * LIMIT)
    bad = bad_pages(at)
    inject(sandbox, at, [record for record, _ in bad], "bad")
    # Pages 3, 4 and 5 of the day's window are these records and nothing else; pages follow them.
    listed = sandbox.truth.cinnox_calls(DAY, DAY.add(days=1), include_bad=True)
    assert listed[2 * LIMIT : 5 * LIMIT] == [record for record, _ in bad] and len(listed) > 6 * LIMIT

    run = cli(sandbox, SOURCES__CINNOX__START_DATE=start.isoformat(), SOURCES__CINNOX__PAGE_LIMIT=str(LIMIT))
    result = run("run", "--source", "cinnox")
    assert result.returncode == 0, result.output
    assert "cinnox: ok" in result.stderr and f"{len(bad)} quarantined" in result.stderr

    # Every good record of every page loads, the pages before and after the bad ones included.
    assert loaded_tables(run) == cinnox_tables(good)
    window = (DAY, DAY.add(days=1))
    expected = sorted((reason, raw(record), *window) for record, reason in bad)
    assert quarantine(run) == expected
    # The nightly cursor, the plan and the coverage move as on a clean run: up to the sandbox's now.
    assert_read_to_now(run.source_state("cinnox"), start)

    # The same range again: the same rows, and not one quarantine row more.
    again = run(*backfill("cinnox", DAY, 1))
    assert again.returncode == 0, again.output
    assert f"{len(bad)} quarantined" in again.stderr
    assert loaded_tables(run) == cinnox_tables(good)
    assert quarantine(run) == expected
    # A backfill leaves the cursor and the coverage where they were.
    state = run.source_state("cinnox")
    assert pendulum.parse(state["cursor"]) == TEST_NOW
    assert [[pendulum.parse(a), pendulum.parse(b)] for a, b in state["coverage"]] == [[start, TEST_NOW]]


def test_a_run_where_every_record_is_bad_quarantines_them_all_and_still_advances(make_sandbox, cli):
    # The first load of the warehouse has no call to load: only quarantine rows.
    sandbox = make_sandbox(cinnox_calls_per_day=0)
    at = DAY.add(hours=10)
    bad = bad_pages(at)[LIMIT : 2 * LIMIT]
    inject(sandbox, at, [record for record, _ in bad], "bad")
    run = cli(sandbox, SOURCES__CINNOX__START_DATE=DAY.isoformat(), SOURCES__CINNOX__PAGE_LIMIT=str(LIMIT))
    result = run("run", "--source", "cinnox")
    assert result.returncode == 0, result.output
    assert "cinnox: ok" in result.stderr and f"{len(bad)} quarantined" in result.stderr
    assert quarantine(run) == sorted((reason, raw(record), DAY, DAY.add(days=1)) for record, reason in bad)
    assert table_rows(run, "cinnox", "call_detail") == 0  # no call: dlt makes a table with its first row
    assert_read_to_now(run.source_state("cinnox"), DAY)


# --- 2. a field whose type changes between pages ----------------------------------------------


def test_a_field_whose_type_changes_between_pages_and_windows_loads_as_its_one_column_type(make_sandbox, cli):
    sandbox = make_sandbox(cinnox_calls_per_day=40)
    first = slot(sandbox.truth.cinnox_calls(DAY, DAY.add(days=1)), LIMIT)
    second = slot(sandbox.truth.cinnox_calls(DAY.add(days=1), DAY.add(days=2)), LIMIT)
    # Day one, pages 2 and 3: phone numbers and an undeclared field as JSON numbers, `seq` as text;
    # then the same fields as strings, `seq` as a number.
    numbers = [
        call(f"num-{i}", first, caller=85230001000 + i, callee=85230002000 + i, extraInfo=2.5 if i == 0 else i, seq=str(12 + i))
        for i in range(LIMIT)
    ]
    strings = [call(f"str-{i}", first, caller=f"+8523000{3000 + i}", extraInfo=f"note {i}", seq=12 + i) for i in range(LIMIT)]
    # Day two (its own window and load), pages 2 and 3: the undeclared field as an object, `seq` as
    # text again; then a page where `seq` is a boolean: not an integer, so all of it is quarantined.
    objects = [
        call(f"obj-{i}", second, caller=85230004000 + i, extraInfo={"k": i, "tags": ["a"]}, seq=f" {12 + i}")
        for i in range(LIMIT)
    ]
    booleans = [call(f"bool-{i}", second, seq=i % 2 == 0) for i in range(LIMIT)]
    inject(sandbox, first, numbers + strings, "a")
    inject(sandbox, second, objects + booleans, "b")
    assert sandbox.truth.cinnox_calls(DAY, DAY.add(days=1))[LIMIT : 3 * LIMIT] == numbers + strings
    assert sandbox.truth.cinnox_calls(DAY.add(days=1), DAY.add(days=2))[LIMIT : 3 * LIMIT] == objects + booleans

    run = cli(sandbox, SOURCES__CINNOX__PAGE_LIMIT=str(LIMIT), SOURCES__CINNOX__CHECKPOINT_ROWS="1")
    result = run(*backfill("cinnox", DAY, 2))
    assert result.returncode == 0, result.output

    served = sandbox.truth.cinnox_calls(DAY, DAY.add(days=2))
    kept = [r for r in served if not r["id"].startswith("bool-")]
    assert loaded_tables(run) == cinnox_tables(kept)
    assert {c for (c,) in run.query("select caller from cinnox.call_detail where id like 'num-%'")} == {
        str(85230001000 + i) for i in range(LIMIT)
    }
    extra = dict(run.query("select id, extra_info from cinnox.call_detail where extra_info is not null"))
    assert extra == {
        **{f"num-{i}": "2.5" if i == 0 else str(i) for i in range(LIMIT)},
        **{f"str-{i}": f"note {i}" for i in range(LIMIT)},
        **{f"obj-{i}": f'{{"k":{i},"tags":["a"]}}' for i in range(LIMIT)},
    }
    seqs = dict(run.query("select id, seq from cinnox.call_detail where id like 'num-%' or id like 'str-%' or id like 'obj-%'"))
    assert seqs == {f"{kind}-{i}": 12 + i for kind in ("num", "str", "obj") for i in range(LIMIT)}
    window = (DAY.add(days=1), DAY.add(days=2))
    assert quarantine(run) == sorted(
        ("call.seq: expected an integer, got a boolean", raw(record), *window) for record in booleans
    )
    types = column_types(run, "cinnox", "call_detail")
    assert (types["caller"], types["callee"], types["extra_info"]) == ("VARCHAR", "VARCHAR", "VARCHAR")
    assert (types["seq"], types["is_recording"]) == ("BIGINT", "BOOLEAN")
    assert types["call_date"] == types["call_end_time"] == "TIMESTAMP WITH TIME ZONE"


@pytest.mark.parametrize(("field", "value"), [("Caller", "+85230009999"), ("call_date", "2026-11-18")])
def test_an_undeclared_field_named_like_a_declared_column_costs_no_other_record(make_sandbox, cli, field, value):
    # `Caller` and `call_date` are undeclared fields whose column names (dlt's snake_case) are those
    # of the declared `caller` and `callDate`: one record of a page carries one.
    sandbox = make_sandbox(cinnox_calls_per_day=40)
    listed = sandbox.truth.cinnox_calls(DAY, DAY.add(days=1))
    at = slot(listed, LIMIT + 5)
    odd = call("odd-one", at, **{field: value})
    inject(sandbox, at, [odd], "odd")
    run = cli(sandbox, SOURCES__CINNOX__PAGE_LIMIT=str(LIMIT))
    result = run(*backfill("cinnox", DAY, 1))
    assert result.returncode == 0, result.output
    # Every other record of its page (and of the day) loads exactly, its phone numbers included.
    calls = loaded_tables(run)[0]
    assert {row for row in calls if row[0] != "odd-one"} == cinnox_tables(listed)[0]
    # The record itself is not lost: loaded, or quarantined whole with a reason.
    loaded = run.query("select id from cinnox.call_detail where id = 'odd-one'")
    assert len(loaded) + sum(record == raw(odd) for _, record, _, _ in quarantine(run)) == 1


def test_a_number_beyond_64_bits_keeps_its_digits_in_a_text_column(make_sandbox, cli):
    # A phone number field and a field nobody declared, sent as JSON numbers too big for 64 bits.
    sandbox = make_sandbox(cinnox_calls_per_day=40)
    listed = sandbox.truth.cinnox_calls(DAY, DAY.add(days=1))
    at = slot(listed, LIMIT + 5)
    digits = 123456789012345678901234567890
    big = call("big-one", at, callee=digits, extraInfo=-digits)
    inject(sandbox, at, [big], "big")
    run = cli(sandbox, SOURCES__CINNOX__PAGE_LIMIT=str(LIMIT))
    result = run(*backfill("cinnox", DAY, 1))
    assert result.returncode == 0, result.output
    assert loaded_tables(run)[0] == cinnox_tables([*listed, big])[0]
    assert run.query("select callee, extra_info from cinnox.call_detail where id = 'big-one'") == [(str(digits), str(-digits))]


def bandwidth_call(call_id: str, at: datetime, number: object) -> dict:
    return {
        "id": call_id,
        "direction": "out",
        "from": "+19195550100",
        "to": number,
        "state": "completed",
        "startTime": stamp(at),
        "activeTime": stamp(at + timedelta(seconds=5)),
        "endTime": stamp(at + timedelta(minutes=2)),
        "chargeableDuration": 120,
    }


def test_bandwidth_phone_numbers_sent_as_numbers_on_one_page_and_strings_on_the_next_load_as_text(make_sandbox, cli):
    # Only these calls in the list: a page of numbers (the earlier ten) and a page of strings.
    sandbox = make_sandbox(bandwidth_calls_per_day=0)
    at = DAY.add(hours=10)
    numbers = [bandwidth_call(f"c-num-{i}", at.add(minutes=i), 19195550200 + i) for i in range(LIMIT)]
    strings = [bandwidth_call(f"c-str-{i}", at.add(hours=1, minutes=i), f"+1919555{300 + i}") for i in range(LIMIT)]
    for record in numbers + strings:
        sandbox.add_bandwidth_call(record)
    assert sandbox.truth.bandwidth_calls(DAY, DAY.add(days=1)) == numbers + strings

    run = cli(sandbox, SOURCES__BANDWIDTH__PAGE_SIZE=str(LIMIT), SOURCES__BANDWIDTH__REQUESTS_PER_SECOND="0")
    result = run(*backfill("bandwidth", DAY, 1))
    assert result.returncode == 0, result.output
    loaded = set(run.query('select id, "from", "to", start_time, chargeable_duration from bandwidth.calls'))
    assert loaded == {(r["id"], r["from"], str(r["to"]), ts(r["startTime"]), 120) for r in numbers + strings}
    assert quarantine(run, "bandwidth") == []
    types = column_types(run, "bandwidth", "calls")
    assert (types["from"], types["to"], types["chargeable_duration"]) == ("VARCHAR", "VARCHAR", "BIGINT")


def test_a_bandwidth_page_of_only_bad_records_goes_to_quarantine_whole_between_pages_that_load(make_sandbox, cli):
    # Only these calls in the list: a good page, a page of records that cannot be typed (some
    # without a readable startTime, so the pager cannot place them either), a good page.
    sandbox = make_sandbox(bandwidth_calls_per_day=0)
    at = DAY.add(hours=10)
    before = [bandwidth_call(f"c-before-{i}", at.add(minutes=i), f"+1919555{200 + i}") for i in range(LIMIT)]
    after = [bandwidth_call(f"c-after-{i}", at.add(hours=2, minutes=i), f"+1919555{400 + i}") for i in range(LIMIT)]
    place = at.add(hours=1)

    def broken(i: int, **fields: object) -> dict:
        return {**bandwidth_call(f"c-bad-{i}", place.add(minutes=i), "+19195550300"), **fields}

    bad = [
        (broken(0, startTime="not a time"), "call.startTime: unparseable timestamp 'not a time'"),
        (broken(1, endTime="2026-13-01T00:00:00Z"), "call.endTime: unparseable timestamp '2026-13-01T00:00:00Z'"),
        ({k: v for k, v in broken(2).items() if k != "id"}, "missing id"),
        ({k: v for k, v in broken(3).items() if k != "startTime"}, "missing startTime"),
        (broken(4, chargeableDuration="abc"), "call.chargeableDuration: expected an integer, got 'abc'"),
        (broken(5, chargeableDuration=True), "call.chargeableDuration: expected an integer, got a boolean"),
        (broken(6, recordingEnabled="maybe"), "call.recordingEnabled: expected true/false, got 'maybe'"),
        (broken(7, sipHeaders="X-Id: 1"), "sipHeaders is str, not an object"),
        ("not a call", "record is str, not an object"),
        (7, "record is int, not an object"),
    ]
    for record in before + after:
        sandbox.add_bandwidth_call(record)
    for i, (record, _) in enumerate(bad):
        sandbox.add_bandwidth_call(broken(i), served=orjson.dumps(record))
    listed = sandbox.truth.bandwidth_calls(DAY, DAY.add(days=1), include_bad=True)
    assert listed == before + [record for record, _ in bad] + after

    run = cli(sandbox, SOURCES__BANDWIDTH__PAGE_SIZE=str(LIMIT), SOURCES__BANDWIDTH__REQUESTS_PER_SECOND="0")
    result = run(*backfill("bandwidth", DAY, 1))
    assert result.returncode == 0, result.output
    assert "bandwidth: ok" in result.stderr and f"{len(bad)} quarantined" in result.stderr
    loaded = set(run.query('select id, "to", start_time from bandwidth.calls'))
    assert loaded == {(r["id"], r["to"], ts(r["startTime"])) for r in before + after}
    window = (DAY, DAY.add(days=1))
    assert quarantine(run, "bandwidth") == sorted((reason, raw(record), *window) for record, reason in bad)


# --- 3. a huge page -----------------------------------------------------------------------

HUGE_LIMIT = 50_000
# The client's own cap on its page size, raised as the vendor's is (a vendor that serves more).
RAISED_PAGE_LIMIT = f"""
import sys
import pipelines.sources.cinnox as cinnox
cinnox.MAX_PAGE_LIMIT = {HUGE_LIMIT}
from pipelines.cli import main
sys.exit(main())
"""


def test_a_huge_page_loads_exactly_and_its_one_bad_record_is_quarantined(make_sandbox, cli, monkeypatch):
    monkeypatch.setattr(cinnox_api, "MAX_LIMIT", HUGE_LIMIT)  # the vendor's page size raised
    sandbox = make_sandbox(cinnox_calls_per_day=20_000)
    good = sandbox.truth.cinnox_calls(DAY, DAY.add(days=1))
    # Past the first 20,480 records (what a reader that guesses types from a sample looks at), a
    # field nobody declared appears, as a number, a string and an object, and `seq` comes as text.
    late_position = len(good) - 10
    assert late_position > 20_480
    late_at = slot(good, late_position)
    late = [
        call("huge-late-0", late_at, lateField=5, seq="12"),
        call("huge-late-1", late_at, lateField="five", caller=85230009999),
        call("huge-late-2", late_at, lateField={"n": 5}),
    ]
    inject(sandbox, late_at, late, "late")
    middle = len(good) // 2
    at = slot(good, middle)
    bad = call("huge-bad", at, callEndTime="2026-11-18T25:00:00Z")
    inject(sandbox, at, [bad], "huge")
    before, after = good[middle - 1], good[middle]
    # The bad record sits between these two, in the middle of the one page.
    assert sandbox.truth.cinnox_calls(ts(before["callDate"]), ts(after["callDate"]) + timedelta(milliseconds=1)) == [
        before,
        bad,
        after,
    ]

    sandbox.reset_stats()
    run = cli(sandbox, SOURCES__CINNOX__PAGE_LIMIT=str(HUGE_LIMIT))
    result = run(*backfill("cinnox", DAY, 1), entry=("-c", RAISED_PAGE_LIMIT))
    assert result.returncode == 0, result.output
    stats = sandbox.stats()["cinnox"]
    assert (stats["requests"], stats["records"]) == (1, len(good) + 4), "the whole window in one response"

    assert loaded_tables(run) == cinnox_tables(good + late)
    ids = {i for (i,) in run.query("select id from cinnox.call_detail")}
    assert {before["id"], after["id"]} <= ids and "huge-bad" not in ids
    assert quarantine(run) == [("call.callEndTime: unparseable timestamp '2026-11-18T25:00:00Z'", raw(bad), DAY, DAY.add(days=1))]
    assert sorted(run.query("select id, late_field, seq from cinnox.call_detail where late_field is not null")) == [
        ("huge-late-0", "5", 12),
        ("huge-late-1", "five", 1),
        ("huge-late-2", '{"n":5}', 1),
    ]
    types = column_types(run, "cinnox", "call_detail")
    assert (types["late_field"], types["caller"], types["seq"]) == ("VARCHAR", "VARCHAR", "BIGINT")
