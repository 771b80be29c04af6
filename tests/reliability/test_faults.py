"""Faults, bad responses, a second writer and secrets: the warehouse stays right and says why."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import TEST_NOW
from tests.sources.test_bandwidth import loaded_calls, loaded_headers, truth_calls, truth_headers
from tests.sources.test_cinnox import cinnox_state, counts, truth_tables, warehouse_tables
from tests.sources.test_genesys import expected_row, key, loaded_rows, served_messages

START = TEST_NOW.start_of("day").subtract(days=5)
END = START.add(days=3)
ALL_SOURCES = ("backfill", "--start", START.to_date_string(), "--end", END.to_date_string())
CINNOX = (*ALL_SOURCES, "--source", "cinnox")
FAST = {"SOURCES__GENESYS__REQUESTS_PER_MINUTE": "0", "SOURCES__BANDWIDTH__REQUESTS_PER_SECOND": "0"}


def assert_every_source_matches_the_truth(sandbox, run) -> None:
    assert warehouse_tables(run) == truth_tables(sandbox, START, END)
    assert loaded_calls(run) == truth_calls(sandbox, START, END)
    assert loaded_headers(run) == truth_headers(sandbox, START, END)
    expected = {key(m): expected_row(m) for m in served_messages(sandbox, START, END)}
    assert loaded_rows(run) == expected


def test_backfill_of_every_source_under_transient_faults_ends_with_the_rows_of_a_clean_run(make_sandbox, cli):
    sandbox = make_sandbox(
        cinnox_calls_per_day=700,
        bandwidth_calls_per_day=300,
        genesys_dialogs_per_day=60,
        error_5xx_rate=0.15,
        rate_429_rate=0.05,
        drop_rate=0.03,
    )
    run = cli(sandbox, **FAST)
    result = run(*ALL_SOURCES)
    assert result.returncode == 0, result.output
    stats = sandbox.stats()
    assert sum(v["5xx"] for v in stats.values()) > 0 and sum(v["429"] for v in stats.values()) > 0
    assert sum(v["dropped"] for v in stats.values()) > 0
    assert_every_source_matches_the_truth(sandbox, run)
    assert counts(run) == tuple(len(t) for t in truth_tables(sandbox, START, END))


@pytest.mark.parametrize("fault", ["html_200_rate", "truncated_rate", "non_json_rate"])
def test_bad_bodies_are_retried_then_fail_the_window_which_the_next_run_repeats(make_sandbox, cli, fault):
    sandbox = make_sandbox(cinnox_calls_per_day=700)
    setattr(sandbox.faults, fault, 1.0)
    run = cli(sandbox, SOURCES__CINNOX__MAX_RETRIES="2", SOURCES__CINNOX__CONCURRENCY="1")  # count one window's tries
    failed = run(*CINNOX)
    assert failed.returncode == 1
    failure = [line for line in failed.stderr.splitlines() if "FAILED" in line]
    assert len(failure) == 1 and "not JSON" in failure[0] and "call-detail" in failure[0], failed.stderr
    assert "Traceback" not in failed.output
    assert sandbox.stats()["cinnox"]["requests"] == 3  # one try and two retries
    assert not cinnox_state(run).get("coverage"), "a failed window must not be recorded as loaded"

    setattr(sandbox.faults, fault, 0.0)
    repaired = run(*CINNOX)
    assert repaired.returncode == 0, repaired.output
    assert warehouse_tables(run) == truth_tables(sandbox, START, END)


def test_occasional_bad_bodies_are_ridden_out(make_sandbox, cli):
    sandbox = make_sandbox(cinnox_calls_per_day=700, html_200_rate=0.1, truncated_rate=0.1, non_json_rate=0.1)
    run = cli(sandbox)
    result = run(*CINNOX)
    assert result.returncode == 0, result.output
    assert warehouse_tables(run) == truth_tables(sandbox, START, END)


def _lock_holder(lock: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lock.exists() and lock.read_text().strip():
            return lock.read_text()
        time.sleep(0.05)
    raise AssertionError("the first run never took the warehouse")


def test_a_second_load_while_one_runs_names_the_running_one_and_leaves_the_warehouse_alone(make_sandbox, cli):
    sandbox = make_sandbox(cinnox_calls_per_day=700, latency_ms=300)
    run = cli(sandbox)
    env = {**os.environ, **sandbox.env(), "CALLHOUSE_WAREHOUSE": str(run.warehouse), "CALLHOUSE_NOW": sandbox.now().isoformat()}
    first = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", *CINNOX],
        cwd=run.workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "backfill" in _lock_holder(run.warehouse.with_name("calls.duckdb.lock"))
        second = run("run", "--source", "cinnox")
        assert second.returncode == 1
        assert second.stderr.count("\n") == 1 and "callhouse backfill" in second.stderr and "--wait" in second.stderr
        waited = run("run", "--source", "cinnox", "--wait", "120")
        assert waited.returncode == 0, waited.output
    finally:
        first.wait(timeout=120)
    assert first.returncode == 0, first.stderr.read()
    assert warehouse_tables(run) >= truth_tables(sandbox, START, END)


def hold_open(warehouse, seconds: float) -> subprocess.Popen:
    """Another process with the warehouse open (an analyst's session) for `seconds`."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,sys,time; c=duckdb.connect({str(warehouse)!r}, read_only=True); print('open', flush=True); "
            f"time.sleep({seconds})",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "open"
    return holder


def test_a_warehouse_held_open_by_another_process_is_waited_for_then_one_clear_line(make_sandbox, cli, tmp_path):
    sandbox = make_sandbox(cinnox_calls_per_day=100)
    run = cli(sandbox)
    assert run(*CINNOX).returncode == 0
    holder = hold_open(run.warehouse, 60)
    try:
        before = os.path.getmtime(run.warehouse)
        result = run(*CINNOX, "--wait", "2")
        assert result.returncode == 1
        lines = result.stderr.splitlines()
        assert len(lines) == 2, lines
        assert lines[0].endswith("is open in another process: waiting up to 2 s for it to close")
        assert "open in another process" in lines[1] and "close that session and retry" in lines[1]
        assert os.path.getmtime(run.warehouse) == before
    finally:
        holder.kill()
        holder.wait()
    runs = run.query("select count(*) from callhouse.runs")[0][0]
    assert runs == 1  # the first load only: the second never opened the warehouse


def test_a_load_waits_for_a_reader_that_closes_and_then_loads(make_sandbox, cli):
    sandbox = make_sandbox(cinnox_calls_per_day=100)
    run = cli(sandbox)
    assert run(*CINNOX).returncode == 0
    holder = hold_open(run.warehouse, 120)
    load = run.start(*CINNOX)
    try:
        # The reader closes once the load says it waits for it (however slowly the load started).
        said = ""
        for line in load.stderr:
            said += line
            if "is open in another process: waiting up to 30 s for it to close" in line:
                break
        holder.kill()
        holder.wait()
        said += load.stderr.read()
        assert load.wait(timeout=120) == 0, said
    finally:
        holder.kill()
        load.kill()
    assert "waiting up to 30 s for it to close" in said
    assert "cinnox: ok" in said


def test_readers_during_a_load_never_make_it_fail(make_sandbox, cli):
    # `callhouse status` and read-only sessions, polled while a backfill runs: the load ends ok,
    # each reader either reads or is told a load is running; the run is in the run log.
    sandbox = make_sandbox(cinnox_calls_per_day=2000, latency_ms=10)
    run = cli(sandbox, SOURCES__CINNOX__PAGE_LIMIT="100", SOURCES__CINNOX__CHECKPOINT_ROWS="3000")
    proc = run.start(*CINNOX)
    while not run.warehouse.exists() and proc.poll() is None:
        time.sleep(0.05)
    # An analyst's session that keeps trying to open the file and, once in, holds it for 4 s.
    analyst = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, time\n"
            "end = time.monotonic() + 60\n"
            "while time.monotonic() < end:\n"
            f"    try: c = duckdb.connect({str(run.warehouse)!r}, read_only=True)\n"
            "    except duckdb.IOException: time.sleep(0.02); continue\n"
            "    time.sleep(4); c.close(); break\n",
        ]
    )
    answers = []
    while proc.poll() is None:
        status = run("status")
        answers.append((status.returncode, status.stderr.strip()))
    _, err = proc.communicate()
    analyst.kill()
    analyst.wait()
    assert proc.returncode == 0, err
    assert answers, "status never ran during the load"
    for code, line in answers:
        assert code == 0 or ("is being loaded by `callhouse backfill" in line and "retry when it ends" in line), line
    assert run.query("select outcome from callhouse.runs") == [("ok",)]


def test_secrets_and_url_signatures_never_reach_output_or_the_warehouse(make_sandbox, cli):
    sandbox = make_sandbox(
        cinnox_calls_per_day=300,
        bandwidth_calls_per_day=200,
        genesys_dialogs_per_day=40,
        bad_record_rate=0.05,
        error_5xx_rate=0.05,
    )
    run = cli(sandbox, SOURCES__GENESYS__INCLUDE_HEADERS="true", **FAST)
    outputs = [run(*ALL_SOURCES), run("run"), run("status"), run("check")]
    creds = sandbox.credentials
    wrong = {
        "SOURCES__CINNOX__APP_TOKEN": creds["cinnox"]["app_token"] + "x",
        "SOURCES__BANDWIDTH__API_SECRET": creds["bandwidth"]["api_secret"] + "x",
        "SOURCES__GENESYS__CLIENT_SECRET": creds["genesys"]["client_secret"] + "x",
    }
    outputs.append(run(*ALL_SOURCES, env=wrong))
    outputs.append(run(*ALL_SOURCES, "--debug", env=wrong))
    secrets = [creds["cinnox"]["app_token"], creds["bandwidth"]["api_secret"], creds["genesys"]["client_secret"], *wrong.values()]
    signatures = {
        m.group(1)
        for r in sandbox.truth.cinnox_calls(START, END)
        for e in r.get("recordingEventList") or []
        for f in e.get("files") or []
        for m in re.finditer(r"(?i)signature=([^&]+)", f["downloadUrl"])
    }
    assert secrets and signatures
    text = "\n".join(o.output for o in outputs)
    warehouse_text = _every_value_as_text(run.warehouse)
    # DuckDB compresses strings on disk, so the file's bytes alone prove nothing: read every
    # value back as well; the bytes check still covers dlt's working files (state, traces).
    stored = run.warehouse.read_bytes() + b"".join(
        p.read_bytes() for p in run.warehouse.parent.rglob("*") if p.is_file() and p != run.warehouse
    )
    for needle in [*secrets, *signatures]:
        assert needle not in text
        assert needle not in warehouse_text
        assert needle.encode() not in stored
    quarantined = run.query("select count(*) from cinnox.quarantine")[0][0]
    assert quarantined > 0, "bad records with signed URLs should have been quarantined"


def _every_value_as_text(warehouse: Path) -> str:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE'"
        ).fetchall()
        return "\n".join(
            str(row) for schema, table in tables for row in con.execute(f'select * from "{schema}"."{table}"').fetchall()
        )
    finally:
        con.close()
