"""ALERTS__WEBHOOK_URL: `run`, `backfill` and `check` post one JSON message when they fail, to a
real receiver on loopback; a receiver that fails or never answers costs a line, never the result."""

from __future__ import annotations

import time

import duckdb

from tests.schedule.conftest import DAY, FAST_ENV, HOOK_SECRET, SANDBOX

START, END = DAY.subtract(days=3), DAY.subtract(days=2)
BACKFILL = ("backfill", "--start", START.to_date_string(), "--end", END.to_date_string())
WRONG_SECRET = "wrong-bandwidth-secret-9f3a"


def cinnox_rows(run) -> int:
    tables = ("call_detail", "call_detail__recording_event_list", "call_detail__recording_event_list__files")
    return sum(run.query(f"select count(*) from cinnox.{t}")[0][0] for t in tables)


def test_a_failed_backfill_posts_one_message_naming_each_failure_rows_duration_and_warehouse(make_sandbox, cli, receiver):
    sandbox = make_sandbox(**SANDBOX)
    hook = receiver(200)
    run = cli(sandbox, **FAST_ENV, ALERTS__WEBHOOK_URL=hook.url, SOURCES__BANDWIDTH__API_SECRET=WRONG_SECRET)
    result = run(*BACKFILL, "--source", "cinnox", "--source", "bandwidth")
    assert result.returncode == 1, result.output

    assert hook.posts == 1 and hook.paths == [f"/services/{HOOK_SECRET}"]
    [message] = hook.bodies
    assert set(message) == {"text", "command", "status", "exit_code", "failures", "rows", "duration_s", "warehouse", "started_at"}
    assert message["command"] == f"callhouse backfill --start {START.to_date_string()} --end {END.to_date_string()}"
    assert message["status"] == "failed" and message["exit_code"] == 1
    [failure] = message["failures"]
    assert failure.startswith("bandwidth: credentials rejected (HTTP 401"), failure
    assert "SOURCES__BANDWIDTH__API_SECRET" in failure or "SOURCES__BANDWIDTH__API_TOKEN" in failure
    truth = len(sandbox.truth.cinnox_calls(START, END))
    assert run.query("select count(*) from cinnox.call_detail") == [(truth,)]
    assert message["rows"] == {"cinnox": cinnox_rows(run), "bandwidth": 0}
    assert message["warehouse"] == f"warehouse {run.warehouse}"
    assert 0 < message["duration_s"] < 300
    assert message["text"].splitlines() == [
        f"{message['command']}: FAILED on warehouse {run.warehouse} "
        f"({cinnox_rows(run):,} rows loaded, {message['duration_s']:.0f}s)",
        f"• {failure}",
    ]
    body = str(message)
    assert WRONG_SECRET not in body and HOOK_SECRET not in body and sandbox.env()["SOURCES__CINNOX__APP_TOKEN"] not in body
    assert HOOK_SECRET not in result.output


def test_a_successful_load_posts_only_when_on_success_is_set(make_sandbox, cli, receiver):
    sandbox = make_sandbox(**SANDBOX)
    quiet, heartbeat = receiver(200), receiver(200)
    first = cli(sandbox, **FAST_ENV, ALERTS__WEBHOOK_URL=quiet.url)(*BACKFILL, "--source", "cinnox")
    assert first.returncode == 0, first.output
    assert quiet.posts == 0
    run = cli(sandbox, **FAST_ENV, ALERTS__WEBHOOK_URL=heartbeat.url, ALERTS__ON_SUCCESS="true")
    second = run(*BACKFILL, "--source", "cinnox")
    assert second.returncode == 0, second.output
    [message] = heartbeat.bodies
    assert message["status"] == "ok" and message["exit_code"] == 0 and message["failures"] == []
    assert message["rows"] == {"cinnox": cinnox_rows(run)}  # the same day again: the same rows, merged
    assert message["text"].startswith(f"callhouse backfill --start {START.to_date_string()} --end {END.to_date_string()}: OK on ")


def test_a_receiver_answering_500_is_retried_then_one_stderr_line_and_the_exit_code_stands(make_sandbox, cli, receiver):
    sandbox = make_sandbox(**SANDBOX)
    hook = receiver(500)
    run = cli(sandbox, **FAST_ENV, ALERTS__WEBHOOK_URL=hook.url, SOURCES__BANDWIDTH__API_SECRET=WRONG_SECRET)
    result = run(*BACKFILL, "--source", "bandwidth")
    assert result.returncode == 1, result.output
    assert hook.posts == 3  # ALERTS__TRIES, default 3
    assert all(body == hook.bodies[0] for body in hook.bodies)
    lines = [line for line in result.stderr.splitlines() if "alert" in line]
    assert lines == [
        f"callhouse: alert not delivered to http://127.0.0.1:{hook.url.split(':')[2].split('/')[0]}/... "
        "(HTTP 500 after 3 tries; check ALERTS__WEBHOOK_URL); the command's own result stands"
    ]
    assert HOOK_SECRET not in result.output
    assert "bandwidth: FAILED: credentials rejected" in result.stderr


def test_a_receiver_that_never_answers_costs_bounded_time_and_keeps_the_exit_code(cli, receiver):
    hook = receiver(None)
    run = cli(None, ALERTS__WEBHOOK_URL=hook.url, ALERTS__TIMEOUT="1", ALERTS__TRIES="2")
    run.warehouse.parent.mkdir(parents=True)
    duckdb.connect(str(run.warehouse)).close()  # an empty warehouse: the views are not built
    result = run("check")  # a usage error (exit 2)
    ended = time.monotonic()
    assert result.returncode == 2, result.output
    assert hook.posts == 2
    # From the first try to the exit: 2 tries of 1 s and a 0.5 s pause, and some slack for a busy machine.
    assert ended - hook.arrivals[0] < 8, ended - hook.arrivals[0]
    assert hook.bodies[0]["exit_code"] == 2
    stderr = result.stderr.splitlines()
    assert stderr[-1].startswith("callhouse: check: views not built ("), stderr
    assert hook.bodies[0]["failures"] == [stderr[-1]]  # the line the command printed
    assert [line for line in stderr if "alert not delivered" in line] == [
        f"callhouse: alert not delivered to http://127.0.0.1:{hook.url.split(':')[2].split('/')[0]}/... "
        "(ReadTimeout: timed out after 2 tries; check ALERTS__WEBHOOK_URL); the command's own result stands"
    ]


def test_a_failing_data_test_posts_the_test_from_check(make_sandbox, cli, receiver):
    sandbox = make_sandbox(**SANDBOX)
    hook = receiver(200)
    run = cli(sandbox, **FAST_ENV, ALERTS__WEBHOOK_URL=hook.url)
    assert run(*BACKFILL, "--source", "cinnox").returncode == 0
    assert run("views").returncode == 0
    call_id = run.query("select min(id) from cinnox.call_detail where status = 'Not Answered'")[0][0]
    con = duckdb.connect(str(run.warehouse))
    con.execute("update cinnox.call_detail set status = 'Voicemail Left' where id = ?", [call_id])
    con.close()
    result = run("check")
    assert result.returncode == 1, result.output
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL ")]
    [message] = hook.bodies
    assert message["command"] == "callhouse check" and message["exit_code"] == 1
    assert message["failures"] == failed and len(failed) >= 1
    assert (
        "FAIL reporting.calls: outcome accepted_values [answered, missed, failed, active]: 1 rows with other values, "
        "e.g. vendor='cinnox', status_raw='Voicemail Left'"
    ) in failed
