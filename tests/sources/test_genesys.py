"""Genesys Cloud SIP traces end to end: the real CLI, the sandbox over HTTP, a real DuckDB file."""

from __future__ import annotations

import re
from datetime import datetime

import pendulum

from pipelines.fetch.records import column_name
from pipelines.fetch.windows import Window, iso, split
from pipelines.sources.genesys.auth import default_login_url
from pipelines.sources.genesys.headers import header_rows
from pipelines.sources.genesys.helpers import PartPlanner, SiptraceBatch, SiptraceFlattener, ms_halves, ms_parts
from tests.conftest import TEST_NOW, Cli, on_each_warehouse
from tests.homer import HOMER_FIELDS

HOUR = pendulum.duration(hours=1)
DAY = TEST_NOW.start_of("day")  # the sandbox's today, 2026-11-20
RANGE_START, RANGE_END = DAY.subtract(days=3), DAY.subtract(days=1)
BACKFILL = ("backfill", "--source", "genesys", "--start", RANGE_START.to_date_string(), "--end", RANGE_END.to_date_string())
# The source paces itself to 300 requests/min by default; the sandbox here sets no limit, and
# pacing would only make the tests slow.
UNPACED = {"SOURCES__GENESYS__REQUESTS_PER_MINUTE": "0"}
INTEGER_FIELDS = ("milliTs", "microTs", "sourcePort", "destinationPort", "contactPort", "originatorPort")
COLUMNS = [column_name(f) for f in HOMER_FIELDS]


# --- the answer key -----------------------------------------------------------------------------


def served_messages(sandbox, start, end, include_bad: bool = False) -> list[dict]:
    """What the sandbox serves in [start, end): the truth's messages, every one whose `date` lies
    in the range (dialogs that talk through a midnight included), in (date, id) order."""
    return sandbox.truth.genesys_messages(start, end, include_bad=include_bad)


def expected_row(message: dict) -> tuple:
    values = []
    for field in HOMER_FIELDS:
        value = message.get(field)
        if field == "date":
            value = datetime.fromisoformat(value)
        elif field in INTEGER_FIELDS:
            value = int(value) if value not in (None, "") else None
        values.append(value)
    return tuple(values)


DATE = COLUMNS.index("date")


def key(message: dict) -> tuple:
    """A message is its id and its time: Homer ids are counters per day and repeat across days."""
    return message["id"], datetime.fromisoformat(message["date"])


def loaded_rows(run) -> dict[tuple, tuple]:
    rows = run.query(f"select {', '.join(COLUMNS)} from genesys.siptraces")
    by_key = {(row[0], row[DATE]): row for row in rows}
    assert len(by_key) == len(rows), "two rows share an (id, date)"
    return by_key


def loaded_ids(run) -> set[str]:
    return {id_ for id_, _ in loaded_rows(run)}


def genesys_state(cli) -> dict:
    return cli.source_state("genesys")


def summary_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.startswith("genesys: ok")]
    assert len(lines) == 1, result.output
    return lines[0]


def summary_count(result, what: str) -> int:
    """`24 windows`, `0 retried`, ... from the summary line."""
    return int(re.search(rf"(\d+) {what}", summary_line(result)).group(1))


def summary_rows(result, table: str) -> int:
    """`siptraces 1,546` from the summary line."""
    return int(re.search(rf"{table} ([\d,]+)", summary_line(result)).group(1).replace(",", ""))


# --- siptraces ------------------------------------------------------------------------------------


@on_each_warehouse
def test_backfill_splits_capped_windows_and_loads_exactly_the_truths_messages(make_sandbox, cli):
    sandbox = make_sandbox(genesys_dialogs_per_day=300)
    expected = served_messages(sandbox, RANGE_START, RANGE_END)
    busiest = max(len(sandbox.truth.genesys_messages(w.start, w.end)) for w in split(RANGE_START, RANGE_END, HOUR))
    assert busiest > 2 * 100, "the range must have hours the result cap of 100 cuts short"

    run = cli(sandbox, **UNPACED)
    result = run(*BACKFILL)
    assert result.returncode == 0, result.output

    assert loaded_rows(run) == {key(m): expected_row(m) for m in expected}
    types = dict(
        run.query(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'genesys' and table_name = 'siptraces'"
        )
    )
    assert types["date"] == "TIMESTAMP WITH TIME ZONE"
    for field in INTEGER_FIELDS:
        assert types[column_name(field)] == "BIGINT", field
    assert {types[c] for c in COLUMNS if c != "date" and c not in map(column_name, INTEGER_FIELDS)} == {"VARCHAR"}
    # Full windows were split and asked again; nothing was left truncated. Busy hours after busy
    # hours are asked in parts from the start: fewer queries than halving each from the whole hour.
    queries = sandbox.stats()["genesys"]["endpoints"]["siptraces"]
    assert 48 + 10 < queries < sum(halving_queries(sandbox, hour, 100) for hour in split(RANGE_START, RANGE_END, HOUR))
    assert "TRUNCATED" not in result.output
    assert genesys_state(run).get("truncated", []) == []


def test_rerunning_a_backfill_leaves_identical_rows(make_sandbox, cli):
    sandbox = make_sandbox()
    run = cli(sandbox, **UNPACED)
    start, end = RANGE_START.to_date_string(), RANGE_START.add(days=1).to_date_string()
    first = run("backfill", "--source", "genesys", "--start", start, "--end", end)
    assert first.returncode == 0, first.output
    before = loaded_rows(run)
    second = run("backfill", "--source", "genesys", "--start", start, "--end", end)
    assert second.returncode == 0, second.output
    assert summary_rows(second, "siptraces") == len(before)  # read again, not skipped
    assert loaded_rows(run) == before
    assert run.query("select count(*), count(distinct (id, date)) from genesys.siptraces")[0] == (len(before), len(before))


def test_nightly_run_after_a_backfill_resumes_from_its_cursor(make_sandbox, cli):
    sandbox = make_sandbox()
    start_date = TEST_NOW.subtract(hours=12)
    run = cli(sandbox, SOURCES__GENESYS__START_DATE=start_date.isoformat(), **UNPACED)
    backfill = run(*BACKFILL)
    assert backfill.returncode == 0, backfill.output
    assert genesys_state(run).get("cursor") is None  # a backfill never moves the nightly cursor

    first = run("run", "--source", "genesys")
    assert first.returncode == 0, first.output
    assert summary_count(first, "windows") == 12  # START_DATE up to now
    assert genesys_state(run)["cursor"] == "2026-11-20T06:00:00.000Z"

    sandbox.advance(hours=3)
    second = run("run", "--source", "genesys")
    assert second.returncode == 0, second.output
    assert summary_count(second, "windows") == 24 + 3  # cursor - lookback (1d) up to the new now
    assert genesys_state(run)["cursor"] == "2026-11-20T09:00:00.000Z"
    # The second run re-read the lookback: a day before the old cursor, earlier than START_DATE.
    expected = {m["id"] for m in served_messages(sandbox, TEST_NOW.subtract(days=1), sandbox.now())}
    expected |= {m["id"] for m in served_messages(sandbox, RANGE_START, RANGE_END)}
    assert loaded_ids(run) == expected


def test_backfill_completes_while_tokens_expire_every_few_seconds(make_sandbox, cli):
    # Tokens live 1.5 s but are announced as `expires_in: 2` (whole seconds): the source renews
    # ahead of what it was told, and requests that still meet an expired token get a 401, a new
    # token and a second try. With headers on, four threads share (and renew) the token.
    sandbox = make_sandbox(genesys_token_ttl_s=1.5, latency_ms=50)
    run = cli(sandbox, SOURCES__GENESYS__INCLUDE_HEADERS="true", **UNPACED)
    start, end = RANGE_START.add(hours=6), RANGE_START.add(hours=18)
    result = run("backfill", "--source", "genesys", "--start", start.isoformat(), "--end", end.isoformat())
    assert result.returncode == 0, result.output

    stats = sandbox.stats()["genesys"]
    assert stats["endpoints"]["oauth/token"] >= 3, stats  # the run outlived several tokens
    assert stats["401"] >= 1, stats  # ...and the renew-on-401 path was taken
    assert stats["2xx"] + stats["401"] == stats["requests"], stats  # every other answer a success
    assert summary_count(result, "retried") == 0
    expected = served_messages(sandbox, start, end)
    assert loaded_ids(run) == {m["id"] for m in expected}
    conversations = {m["conversationId"] for m in expected if m.get("conversationId")}
    assert {r[0] for r in run.query("select distinct conversation_id from genesys.conversation_sip_headers")} == conversations


def test_backfill_rides_out_throttling_and_gateway_errors(make_sandbox, cli):
    sandbox = make_sandbox(error_5xx_rate=0.08, rate_429_rate=0.05, drop_rate=0.03)
    run = cli(sandbox, **UNPACED)
    # A day: enough queries (~70) for each kind of fault to come.
    start, end = RANGE_START, RANGE_START.add(days=1)
    result = run("backfill", "--source", "genesys", "--start", start.isoformat(), "--end", end.isoformat())
    assert result.returncode == 0, result.output
    stats = sandbox.stats()["genesys"]
    assert stats["5xx"] > 0 and stats["429"] > 0, stats
    assert summary_count(result, "throttled") > 0 and summary_count(result, "retried") > 0
    assert loaded_rows(run) == {key(m): expected_row(m) for m in served_messages(sandbox, start, end)}


CAP, MIN_WINDOW = 5, pendulum.duration(minutes=30)
CAPPED = Window(RANGE_START.add(hours=9), RANGE_START.add(hours=13))


def capped_backfill(make_sandbox, cli, **env: str):
    """Four hours with a result cap of 5, windows split down to half hours: (sandbox, run, result)."""
    sandbox = make_sandbox(genesys_result_cap=CAP)
    run = cli(
        sandbox,
        SOURCES__GENESYS__RESULT_CAP=str(CAP),
        SOURCES__GENESYS__MIN_WINDOW_MS=str(int(MIN_WINDOW.total_seconds() * 1000)),
        **UNPACED,
        **env,
    )
    result = run("backfill", "--source", "genesys", "--start", CAPPED.start.isoformat(), "--end", CAPPED.end.isoformat())
    assert result.returncode == 0, result.output
    return sandbox, run, result


def capped_truth(sandbox) -> tuple[set[str], list[Window], int]:
    """What the source must do in CAPPED: split an hour that returns the cap into halves; a half
    hour that still returns the cap is as narrow as allowed: load its first CAP rows, report it.
    -> the ids loaded, the truncated half hours, the queries asked."""
    expected, truncated, queries = set(), [], 0
    for hour in split(CAPPED.start, CAPPED.end, HOUR):
        queries += 1
        served = served_messages(sandbox, hour.start, hour.end)
        if len(served) < CAP:
            expected |= {m["id"] for m in served}
            continue
        for half in split(hour.start, hour.end, MIN_WINDOW):
            queries += 1
            served = sandbox.truth.genesys_messages(half.start, half.end)
            expected |= {m["id"] for m in served[:CAP]}
            if len(served) >= CAP:
                truncated.append(half)
    assert truncated, "the range must have half hours with more messages than the cap"
    return expected, truncated, queries


def test_full_window_that_cannot_be_split_is_loaded_and_reported_truncated(make_sandbox, cli):
    sandbox, run, result = capped_backfill(make_sandbox, cli)
    expected, truncated, _ = capped_truth(sandbox)
    assert loaded_ids(run) == expected

    assert f"{len(truncated)} windows TRUNCATED" in summary_line(result)
    assert "TRUNCATED [" in result.output
    status = run("status")
    assert status.returncode == 0, status.output
    assert f"TRUNCATED: {len(truncated)} windows" in status.stdout
    for half in truncated:
        assert (
            f"[{half.start.format('YYYY-MM-DDTHH:mm:ss.SSS')}Z, {half.end.format('YYYY-MM-DDTHH:mm:ss.SSS')}Z) {CAP} rows"
            in status.stdout
        )


def test_windows_fetched_ahead_of_each_load_keep_their_rows_truncations_and_queries(make_sandbox, cli, tmp_path):
    """One load per window (CHECKPOINT_ROWS=1): the lookahead fetches the next windows while each
    loads; each window still commits its own rows and truncations, and the queries are those of a
    run in one load that does not fetch ahead (it loads headers: its remembered conversations are
    state)."""
    sandbox, run, _ = capped_backfill(make_sandbox, cli, SOURCES__GENESYS__CHECKPOINT_ROWS="1")
    expected, truncated, _ = capped_truth(sandbox)
    assert loaded_ids(run) == expected
    assert run.query("select count(distinct _dlt_load_id) from genesys.siptraces")[0] == (4,)  # a load per hour
    assert sorted(genesys_state(run)["truncated"]) == sorted([iso(half.start), iso(half.end), CAP] for half in truncated)
    ahead = sandbox.stats()["genesys"]["endpoints"]["siptraces"]

    sandbox.reset_stats()
    (tmp_path / "in-step").mkdir()
    in_step = Cli(
        sandbox,
        tmp_path / "in-step",
        {**run.env, "SOURCES__GENESYS__INCLUDE_HEADERS": "true", "SOURCES__GENESYS__CHECKPOINT_ROWS": "1000000"},
    )
    result = in_step("backfill", "--source", "genesys", "--start", CAPPED.start.isoformat(), "--end", CAPPED.end.isoformat())
    assert result.returncode == 0, result.output
    assert loaded_ids(in_step) == expected
    assert sandbox.stats()["genesys"]["endpoints"]["siptraces"] == ahead


def test_backfill_older_than_retention_is_a_notice_not_an_error(make_sandbox, cli):
    sandbox = make_sandbox()
    run = cli(sandbox, **UNPACED)
    start, end = DAY.subtract(days=30), DAY.subtract(days=29)
    assert sandbox.truth.genesys_messages(start, end) == []
    result = run("backfill", "--source", "genesys", "--start", start.to_date_string(), "--end", end.to_date_string())
    assert result.returncode == 0, result.output
    assert "genesys: ok, no rows" in result.output
    assert re.search(
        r"genesys: \[2026-10-21T00:00:00.000Z, 2026-10-22T00:00:00.000Z\) is older than "
        r"Genesys's 21-day SIP trace retention .*: 24 windows returned no rows",
        result.output,
    ), result.output
    assert run.query(
        "select count(*) from information_schema.tables where table_schema = 'genesys' and table_name = 'siptraces'"
    )[0][0] in (0, 1)
    if run.query("select count(*) from information_schema.tables where table_name = 'siptraces'")[0][0]:
        assert run.query("select count(*) from genesys.siptraces")[0][0] == 0


def test_bad_records_are_quarantined_not_fatal(make_sandbox, cli):
    sandbox = make_sandbox(bad_record_rate=0.03)
    run = cli(sandbox, **UNPACED)
    start, end = RANGE_START, RANGE_START.add(days=1)
    result = run("backfill", "--source", "genesys", "--start", start.isoformat(), "--end", end.isoformat())
    assert result.returncode == 0, result.output
    assert "Traceback" not in result.output
    bad = [b for w in split(start, end, HOUR) for b in sandbox.truth.bad_records("genesys", w.start, w.end)]
    # An unknown extra field is schema evolution (a new text column), not a bad record.
    unloadable = [b for b in bad if b["defect"] != "extra_field"]
    assert unloadable and len(unloadable) < len(bad)
    good = {m["id"] for m in served_messages(sandbox, start, end)}
    assert loaded_ids(run) == good | {b["id"] for b in bad if b["defect"] == "extra_field"}
    quarantined = run.query("select resource, reason from genesys.quarantine")
    assert len(quarantined) == len(unloadable)
    assert {r for r, _ in quarantined} == {"siptraces"}
    assert f"{len(unloadable)} quarantined" in summary_line(result)


# --- SIP headers ---------------------------------------------------------------------------------


def test_headers_of_each_conversation_equal_the_truths_and_are_fetched_once(make_sandbox, cli):
    sandbox = make_sandbox()
    run = cli(sandbox, SOURCES__GENESYS__INCLUDE_HEADERS="true", **UNPACED)
    start, end = RANGE_START.to_date_string(), RANGE_START.add(days=1).to_date_string()
    result = run("backfill", "--source", "genesys", "--start", start, "--end", end)
    assert result.returncode == 0, result.output

    loaded: dict[str, dict[str, list[str]]] = {}
    for conversation, name, value in run.query(
        "select conversation_id, name, value from genesys.conversation_sip_headers order by conversation_id, name, value_index"
    ):
        loaded.setdefault(conversation, {}).setdefault(name, []).append(value)
    conversations = {
        c for (c,) in run.query("select distinct conversation_id from genesys.siptraces where conversation_id <> ''")
    }
    assert conversations and set(loaded) == conversations
    for conversation in conversations:
        assert loaded[conversation] == sandbox.truth.genesys_headers(conversation), conversation
    assert sandbox.stats()["genesys"]["endpoints"]["sipmessages/headers"] == len(conversations)

    # Fetched conversations are remembered: a rerun reads the traces again, not the headers,
    # and leaves the same rows.
    before = run.query("select * exclude (_dlt_load_id) from genesys.conversation_sip_headers order by all")
    again = run("backfill", "--source", "genesys", "--start", start, "--end", end)
    assert again.returncode == 0, again.output
    assert sandbox.stats()["genesys"]["endpoints"]["sipmessages/headers"] == len(conversations)
    assert run.query("select * exclude (_dlt_load_id) from genesys.conversation_sip_headers order by all") == before


# --- credentials ---------------------------------------------------------------------------------


def test_wrong_client_secret_is_one_line_naming_the_settings_without_the_secret(make_sandbox, cli):
    sandbox = make_sandbox()
    wrong = "not-the-secret-5f1e9a"
    run = cli(sandbox, SOURCES__GENESYS__CLIENT_SECRET=wrong, **UNPACED)
    result = run(*BACKFILL)
    assert result.returncode == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "SOURCES__GENESYS__CLIENT_ID" in lines[0] and "SOURCES__GENESYS__CLIENT_SECRET" in lines[0]
    assert wrong not in result.output
    assert sandbox.credentials["genesys"]["client_secret"] not in result.output
    assert "Traceback" not in result.output


# --- the parts that need no server -----------------------------------------------------------------

AN_HOUR_START = pendulum.datetime(2026, 11, 19, 10, tz="UTC")  # where the tests of one module start


def test_login_host_is_the_api_host_with_login_for_api():
    assert default_login_url("https://api.mypurecloud.com") == "https://login.mypurecloud.com"
    assert default_login_url("https://api.usw2.pure.cloud/") == "https://login.usw2.pure.cloud"
    assert default_login_url("http://127.0.0.1:8765") == "http://127.0.0.1:8765"


def test_windows_halve_on_whole_milliseconds_down_to_the_minimum():
    start = AN_HOUR_START
    first, second = ms_halves(Window(start, start.add(microseconds=3000)), 1)
    assert (first.end - first.start).total_seconds() == 0.001 and first.end == second.start
    assert ms_halves(Window(start, start.add(microseconds=1000)), 1) is None
    assert ms_halves(Window(start, start.add(minutes=59)), 30 * 60_000) is None
    assert ms_halves(Window(start, start.add(hours=1)), 30 * 60_000) == (
        Window(start, start.add(minutes=30)),
        Window(start.add(minutes=30), start.add(hours=1)),
    )


def test_a_window_is_cut_into_parts_on_whole_milliseconds_none_narrower_than_the_minimum():
    start = AN_HOUR_START
    hour = Window(start, start.add(hours=1))
    assert ms_parts(hour, 3, 1) == [Window(start.add(minutes=20 * i), start.add(minutes=20 * (i + 1))) for i in range(3)]
    ms = [start.add(microseconds=1000 * n) for n in (0, 2, 5, 7, 10)]
    assert ms_parts(Window(ms[0], ms[-1]), 4, 1) == [Window(a, b) for a, b in zip(ms, ms[1:])]
    assert ms_parts(hour, 5, 30 * 60_000) == list(ms_halves(hour, 30 * 60_000))
    assert ms_parts(hour, 1, 1) == [hour]
    assert ms_parts(Window(start, start.add(microseconds=1500)), 2, 1) == [Window(start, start.add(microseconds=1500))]


def test_a_window_is_asked_in_as_many_parts_as_the_window_before_it_needed():
    start = AN_HOUR_START
    hours = split(start, start.add(hours=3), HOUR)
    planner = PartPlanner(cap=100, min_ms=1)
    assert planner.parts(hours[0]) == 1  # nothing known yet: the whole window, halved if full
    planner.note(hours[0], 750)
    assert planner.parts(hours[1]) == 10  # 750 rows at 75 a part
    assert planner.parts(Window(hours[1].start, hours[1].start.add(minutes=6))) == 1
    planner.note(hours[1], 0)
    assert planner.parts(hours[2]) == 1


def halving_queries(sandbox, window: Window, cap: int) -> int:
    """The queries halving `window` from the whole down needs: one per window asked."""
    if len(served_messages(sandbox, window.start, window.end)) < cap:
        return 1
    return 1 + sum(halving_queries(sandbox, half, cap) for half in ms_halves(window, 1))


def test_records_outside_the_query_window_repeated_or_broken_are_not_loaded_as_traces():
    start = AN_HOUR_START
    window = Window(start, start.add(hours=1))
    records = [
        {"id": "a", "date": "2026-11-19T10:00:00.000Z", "conversationId": "c1", "sourcePort": "5060"},
        {"id": "b", "date": "2026-11-19T11:00:00.000Z"},  # the end is exclusive: the next window's
        {"id": "c", "date": "2026-11-19T09:59:59.999Z"},
        {"id": "a", "date": "2026-11-19T10:00:00.000Z", "conversationId": "c1"},  # a repeat
        {"id": "d", "date": "2026-11-19T10:30:00.000Z", "conversationId": ""},
        {"id": "e", "date": "2026-13-45T99:00"},
        {"date": "2026-11-19T10:30:00.000Z"},
        {"id": "f", "date": "2026-11-19T10:30:00.000Z", "milliTs": ["1714569347587"]},
        "not a record",
    ]
    batch = SiptraceBatch()
    flattener = SiptraceFlattener(window)
    flattener.flatten(records, window, batch.traces, batch.quarantine)
    traces = batch.traces.to_arrow().to_pylist()
    assert [r["id"] for r in traces] == ["a", "d"]
    assert traces[0]["source_port"] == 5060
    assert flattener.conversation_ids == ["c1"]
    reasons = [r["reason"] for r in batch.quarantine.rows]
    assert len(reasons) == 4 and "missing id" in reasons


def test_a_siptrace_with_a_field_named_like_a_declared_column_is_quarantined_whole_and_the_page_loads():
    start = AN_HOUR_START
    window = Window(start, start.add(hours=1))
    records = [
        {"id": "a", "date": "2026-11-19T10:00:00.000Z", "conversationId": "c1"},
        {"id": "b", "date": "2026-11-19T10:01:00.000Z", "conversationId": "c2", "conversation_id": "x"},
        {"id": "c", "date": "2026-11-19T10:02:00.000Z", "sourcePort": 5060, "note": {"k": 1}},
    ]
    batch = SiptraceBatch()
    SiptraceFlattener(window).flatten(records, window, batch.traces, batch.quarantine)
    traces = batch.traces.to_arrow().to_pylist()
    assert [(r["id"], r["conversation_id"], r["source_port"], r["note"]) for r in traces] == [
        ("a", "c1", None, None),
        ("c", None, 5060, '{"k":1}'),
    ]
    assert [r["reason"] for r in batch.quarantine.rows] == [
        "siptrace.conversation_id: names the same column (conversation_id) as the field conversationId"
    ]


def test_the_queries_of_a_window_typed_together_keep_each_records_fate():
    """A walk window's queries are typed together (SiptraceFlattener.add, then flush): a query of
    only bad records, an undeclared field whose type changes between queries and between windows,
    and records outside their own query's window each end as they would typed alone."""
    start = AN_HOUR_START
    hour, next_hour = Window(start, start.add(hours=1)), Window(start.add(hours=1), start.add(hours=2))
    thirds = split(hour.start, hour.end, pendulum.duration(minutes=20))

    def at(minute: int) -> str:
        return iso(start.add(minutes=minute))

    good = [
        {"id": "a1", "date": at(1), "conversationId": "c1", "sourcePort": "5060", "note": 7},
        {"id": "a2", "date": at(2), "conversationId": "c1", "milliTs": "1763546520000", "note": 2.5},
    ]
    only_bad = [
        {"id": "b1", "date": "not a time"},
        {"id": "b2", "date": at(21), "milliTs": "abc"},
        {"id": "b3", "date": at(22), "milliTs": True},
        {"date": at(23)},
        "not a record",
    ]
    later = [
        {"id": "c1", "date": at(41), "conversationId": "c2", "note": "text"},
        {"id": "c2", "date": at(42), "conversationId": "c2", "note": {"k": 1}},
        good[0],  # the first query's message, outside this query's window: not loaded again
        {"id": "x1", "date": at(5)},  # inside the hour, outside this query's window: not this query's
    ]
    batch = SiptraceBatch()
    flattener = SiptraceFlattener(hour)
    for query, records in zip(thirds, (good, only_bad, later)):
        flattener.add(records, query, batch.quarantine)
    assert flattener.waiting == 10  # the objects; "not a record" went to quarantine at once
    flattener.flush(batch.traces, batch.quarantine)
    # The next window (a flattener of its own, the same batch): the field as text, milliTs a number.
    record = {"id": "d1", "date": iso(next_hour.start), "note": "n", "milliTs": 5}
    SiptraceFlattener(next_hour).flatten([record], next_hour, batch.traces, batch.quarantine)

    traces = batch.traces.to_arrow()
    assert [(r["id"], r["conversation_id"], r["source_port"], r["milli_ts"], r["note"]) for r in traces.to_pylist()] == [
        ("a1", "c1", 5060, None, "7"),
        ("a2", "c1", None, 1763546520000, "2.5"),
        ("c1", "c2", None, None, "text"),
        ("c2", "c2", None, None, '{"k":1}'),
        ("d1", None, None, 5, "n"),
    ]
    assert (str(traces.schema.field("note").type), str(traces.schema.field("milli_ts").type)) == ("string", "int64")
    assert flattener.conversation_ids == ["c1", "c2"]
    assert sorted(r["reason"] for r in batch.quarantine.rows) == sorted(
        [
            "siptrace.date: unparseable timestamp 'not a time'",
            "siptrace.milliTs: expected an integer, got 'abc'",
            "siptrace.milliTs: expected an integer, got a boolean",
            "missing id",
            "record is str, not an object",
        ]
    )


def test_a_huge_answer_loads_every_message_and_quarantines_its_one_bad_record():
    start = AN_HOUR_START
    window = Window(start, start.add(hours=1))
    records = [{"id": f"m{i}", "date": iso(start.add(microseconds=100 * i)), "microTs": str(i)} for i in range(50_000)]
    records[25_000]["microTs"] = "not a number"
    batch = SiptraceBatch()
    SiptraceFlattener(window).flatten(records, window, batch.traces, batch.quarantine)
    traces = batch.traces.to_arrow()
    assert traces["id"].to_pylist() == [f"m{i}" for i in range(50_000) if i != 25_000]
    assert traces["micro_ts"].to_pylist() == [i for i in range(50_000) if i != 25_000]
    assert [(r["reason"], r["window_start"]) for r in batch.quarantine.rows] == [
        ("siptrace.microTs: expected an integer, got 'not a number'", start)
    ]


def test_header_values_keep_their_position():
    rows = header_rows("c1", {"id": "c1", "headers": {"supported": ["timer", "timer"], "to": "<sip:1@x>"}})
    assert [(r["name"], r["value_index"], r["value"]) for r in rows] == [
        ("supported", 0, "timer"),
        ("supported", 1, "timer"),
        ("to", 0, "<sip:1@x>"),
    ]


# --- ids that repeat across days ---------------------------------------------------------------

# The release before the (id, date) key: the same code with siptraces keyed on `id` alone.
AS_KEYED_ON_ID_ALONE = """
import dataclasses, sys
import pipelines.sources.genesys as genesys
genesys.SIPTRACES = dataclasses.replace(genesys.SIPTRACES, primary_key=("id",))
genesys.TABLES = (genesys.SIPTRACES, *genesys.TABLES[1:])
from pipelines.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_messages_sharing_an_id_on_different_days_are_all_kept(make_sandbox, cli):
    # Homer's id is a counter per daily table; the sandbox repeats ids across days.
    sandbox = make_sandbox()
    run = cli(sandbox, **UNPACED)
    result = run(*BACKFILL)
    assert result.returncode == 0, result.output
    expected = served_messages(sandbox, RANGE_START, RANGE_END)
    assert len({m["id"] for m in expected}) < len(expected), "the range should hold repeated ids"
    assert loaded_rows(run) == {key(m): expected_row(m) for m in expected}


def test_a_warehouse_keyed_on_id_alone_keeps_every_row_when_the_key_gains_the_date(make_sandbox, cli):
    sandbox = make_sandbox()
    run = cli(sandbox, **UNPACED)
    day_one, day_two = RANGE_START, RANGE_START.add(days=1)
    old = run(
        "backfill",
        "--source",
        "genesys",
        "--start",
        day_one.isoformat(),
        "--end",
        day_two.isoformat(),
        entry=("-c", AS_KEYED_ON_ID_ALONE),
    )
    assert old.returncode == 0, old.output
    first_day = loaded_rows(run)
    assert first_day == {key(m): expected_row(m) for m in served_messages(sandbox, day_one, day_two)}

    # The next day repeats ids of the first; loaded by this release, nothing of the first is lost.
    new = run("backfill", "--source", "genesys", "--start", day_two.isoformat(), "--end", RANGE_END.isoformat())
    assert new.returncode == 0, new.output
    expected = served_messages(sandbox, day_one, RANGE_END)
    assert {m["id"] for m in served_messages(sandbox, day_one, day_two)} & {
        m["id"] for m in served_messages(sandbox, day_two, RANGE_END)
    }
    assert loaded_rows(run) == {key(m): expected_row(m) for m in expected}
    assert run("views").returncode == 0
    check = run("check")
    assert check.returncode == 0 and "FAIL" not in check.stdout, check.stdout
