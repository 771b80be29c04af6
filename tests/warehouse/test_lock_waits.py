"""PostgreSQL: a view build waiting on an analyst's open transaction gives up after
WAREHOUSE__LOCK_TIMEOUT_S with one line naming who holds the lock, and changes nothing."""

from __future__ import annotations

import time

import psycopg2
import pytest

from tests.conftest import TEST_NOW, Cli

DAY = TEST_NOW.start_of("day").subtract(days=2)
BACKFILL = ("backfill", "--source", "cinnox", "--start", DAY.to_date_string(), "--end", DAY.add(days=1).to_date_string())
# Every view's catalog rows, with the transaction that last wrote them: a rebuild (even of the
# same SQL) writes new ones, so equal before and after means nothing was replaced.
VIEW_ROWS = """
select c.oid::regclass::text, c.xmin::text, r.xmin::text
from pg_class c join pg_namespace n on n.oid = c.relnamespace join pg_rewrite r on r.ev_class = c.oid
where n.nspname in ('staging', 'intermediate', 'reporting') and c.relkind = 'v'
order by 1
"""


@pytest.fixture
def warehouse_kind() -> str:
    return "postgres"


@pytest.fixture
def loaded(make_sandbox, cli) -> Cli:
    run = cli(make_sandbox(cinnox_calls_per_day=50))
    assert run(*BACKFILL).returncode == 0
    assert run("views").returncode == 0
    return run


def _view_rows(url: str) -> list[tuple[str, str, str]]:
    with psycopg2.connect(url) as session, session.cursor() as cursor:
        cursor.execute(VIEW_ROWS)
        rows = cursor.fetchall()
    session.close()
    return rows


def test_a_view_build_behind_an_analysts_open_transaction_gives_up_in_one_line_and_changes_nothing(loaded):
    url = loaded.postgres.url
    before = _view_rows(url)
    assert len(before) > 10
    analyst = psycopg2.connect(url, application_name="analyst notebook")
    try:
        with analyst.cursor() as cursor:  # psycopg2 opens the transaction; it stays open (idle)
            cursor.execute("select count(*) from reporting.daily_calls")
            analyst_pid = analyst.get_backend_pid()
            started = time.monotonic()
            result = loaded("views", env={"WAREHOUSE__LOCK_TIMEOUT_S": "1"}, timeout=120)
            took = time.monotonic() - started
        assert result.returncode == 1, result.output
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("callhouse: views: gave up after 1 s waiting for a lock on "), lines[0]
        assert f"another session holds it (pid {analyst_pid}, user callhouse, idle in transaction, analyst notebook)" in lines[0]
        assert lines[0].endswith("(nothing was changed; WAREHOUSE__LOCK_TIMEOUT_S sets the wait)"), lines[0]
        assert took < 90, took  # the timeout plus the command's start (slow on a busy machine), not a hang
        assert _view_rows(url) == before
    finally:
        analyst.close()
    assert loaded("views").returncode == 0  # the analyst gone, the build goes through
    assert _view_rows(url) != before


def test_a_lock_timeout_that_is_not_a_positive_number_is_a_usage_error(loaded):
    result = loaded("views", env={"WAREHOUSE__LOCK_TIMEOUT_S": "0"})
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["callhouse: WAREHOUSE__LOCK_TIMEOUT_S: 0.0 is not a positive number of seconds"]


def test_a_load_behind_a_lock_on_its_table_gives_up_in_one_line(loaded):
    """An analyst's LOCK TABLE (or a long schema change) stops the merge's writes: the load waits
    WAREHOUSE__LOCK_TIMEOUT_S, not forever, and says why."""
    url = loaded.postgres.url
    before = loaded.query("select count(*) from cinnox.call_detail")
    analyst = psycopg2.connect(url)
    try:
        with analyst.cursor() as cursor:
            cursor.execute("lock table cinnox.call_detail in share mode")
            started = time.monotonic()
            result = loaded(*BACKFILL, env={"WAREHOUSE__LOCK_TIMEOUT_S": "1"}, timeout=240)
            took = time.monotonic() - started
    finally:
        analyst.close()
    assert result.returncode == 1, result.output
    assert (
        "cinnox: FAILED: gave up waiting for a lock another session holds in the warehouse (an open transaction, "
        "a LOCK TABLE): end that session's transaction and rerun (WAREHOUSE__LOCK_TIMEOUT_S sets the wait; "
        "pg_stat_activity shows who)"
    ) in result.stderr.splitlines(), result.stderr
    assert took < 120, took  # five 1 s lock waits (dlt retries the job) and the command, not a hang
    assert loaded.query("select count(*) from cinnox.call_detail") == before
