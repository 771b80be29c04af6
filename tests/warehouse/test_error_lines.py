"""Errors of the shared warehouses that used to mislead or run over many lines (issue 24.7): each
is one line naming the cause and, for a setting, the setting (exit 2); `status` never shows a
traceback; a run that died without logging its end is marked failed by the next load."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipelines.errors import one_line
from tests.conftest import TEST_NOW, lake_env, postgres_env

DAY = TEST_NOW.start_of("day").subtract(days=3)
BACKFILL = ("backfill", "--source", "cinnox", "--start", DAY.to_date_string(), "--end", DAY.add(days=1).to_date_string())
NEXT_DAY = (
    "backfill",
    "--source",
    "cinnox",
    "--start",
    DAY.add(days=1).to_date_string(),
    "--end",
    DAY.add(days=2).to_date_string(),
)


def test_a_select_only_role_is_named_as_the_databases_refusal_not_a_local_folder(make_sandbox, cli, postgres_server):
    url = postgres_server.create_database("select_only")
    postgres_server.psql(
        "create role select_only login password 'select-only-pw'; grant connect on database select_only to select_only"
    )
    role_url = url.replace(f"{postgres_server.user}:{postgres_server.password}@", "select_only:select-only-pw@")
    result = cli(make_sandbox(cinnox_calls_per_day=20), **postgres_env(role_url))(*BACKFILL)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "callhouse: the warehouse's database user lacks a privilege (permission denied for database select_only): grant it, "
        "or set a user that has it in DESTINATION__POSTGRES__CREDENTIALS (PostgreSQL) or "
        "DESTINATION__DUCKLAKE__CREDENTIALS__CATALOG (a DuckLake's catalog)"
    ], result.stderr


@pytest.mark.parametrize("kind", ["ducklake", "postgres"])
def test_a_database_that_does_not_exist_is_a_setting_to_fix_even_for_backfill(make_sandbox, cli, postgres_server, tmp_path, kind):
    url = postgres_server.url("no_such_database")
    env = lake_env(url, tmp_path / "lake") if kind == "ducklake" else postgres_env(url)
    setting = next(key for key in env if key.endswith(("__CATALOG", "__POSTGRES__CREDENTIALS")))
    result = cli(make_sandbox(cinnox_calls_per_day=20), **env)(*BACKFILL)
    assert result.returncode == 2, result.output
    assert result.stderr.splitlines() == [
        f'callhouse: {setting}: the database "no_such_database" does not exist on that server: '
        "create it (createdb no_such_database) or fix the setting"
    ], result.stderr
    assert postgres_server.password not in result.output


@pytest.mark.parametrize("kind", ["ducklake", "postgres"])
@pytest.mark.parametrize("typo", [":99999/", ":5432[/"])
def test_a_database_url_that_does_not_parse_is_exit_2_naming_the_setting(
    make_sandbox, cli, postgres_server, tmp_path, kind, typo
):
    url = postgres_server.url("callhouse").replace(f":{postgres_server.port}/", typo)
    env = lake_env(url, tmp_path / "lake") if kind == "ducklake" else postgres_env(url)
    setting = next(key for key in env if key.endswith(("__CATALOG", "__POSTGRES__CREDENTIALS")))
    result = cli(None, **env)("status")
    assert result.returncode == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("callhouse: ") and setting in line and "unexpected" not in line, line
    assert postgres_server.password not in result.output


@pytest.fixture
def warehouse_kind() -> str:
    return "ducklake"


def test_an_unwritable_lake_folder_is_one_line_naming_the_cause_and_status_shows_no_traceback(make_sandbox, cli):
    """The lake's data folder read-only (a bind mount in a private mount namespace of the command
    alone: no root needed) after a first load."""
    run = cli(make_sandbox(cinnox_calls_per_day=20))
    assert run(*BACKFILL).returncode == 0
    lake = run.env["DESTINATION__DUCKLAKE__CREDENTIALS__STORAGE"]
    script = f'mount --bind "{lake}" "{lake}" && mount -o remount,ro,bind "{lake}" && "$PY" -m pipelines.cli {" ".join(NEXT_DAY)}'
    refused = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
        cwd=run.workdir,
        env=run.full_env({"PY": sys.executable, "LOAD__RAISE_ON_MAX_RETRIES": "1"}),  # one try is enough here
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode == 1, refused.stderr
    [line] = [line for line in refused.stderr.splitlines() if " window " not in line]
    assert line.startswith(f"cinnox: FAILED: read-only file system: {lake}/"), line
    status = run("status")
    assert status.returncode == 0
    assert "Traceback" not in status.output and 'File "' not in status.output, status.output
    [last_run] = [line for line in status.stdout.splitlines() if line.startswith("  last run:")][:1]
    assert "`callhouse backfill" in last_run and " failed, " in last_run, last_run
    assert last_run.endswith(".parquet)") and f" rows  (read-only file system: {lake}/" in last_run, last_run


@pytest.mark.parametrize("warehouse_kind", ["postgres"])
def test_a_run_that_died_without_logging_its_end_is_marked_failed_by_the_next_load(make_sandbox, cli, warehouse_kind):
    run = cli(make_sandbox(cinnox_calls_per_day=20))
    assert run(*BACKFILL).returncode == 0
    # What a run cut off from the warehouse (an outage, a kill) leaves: its start, no end.
    con = run.postgres.connect()
    con.execute(
        "insert into callhouse.runs (run_id, source, command, started_at, outcome) "
        "values ('dead-run', 'cinnox', 'run', now() - interval '1 hour', 'running')"
    )
    con.close()
    assert run(*NEXT_DAY).returncode == 0
    assert run.query("select outcome, finished_at is not null, message from callhouse.runs where run_id = 'dead-run'") == [
        (
            "failed",
            True,
            "ended without recording its outcome (killed, or the warehouse became unreachable); its committed windows are kept",
        )
    ]


def test_error_lines_keep_the_cause_of_a_traceback_and_drop_quoted_sql():
    """dlt keeps a failed job's traceback as its message, and DuckDB's postgres extension quotes
    the statement before PostgreSQL's reason: the line shows the reason, whole."""
    job = (
        "Job for call_detail.parquet had 5 retries. Last failure message was Traceback (most recent call last):\n"
        '  File "dlt/load.py", line 1, in run\n    self.copy()\n'
        'duckdb.duckdb.IOException: IO Error: Failed to create directory "/srv/lake/cinnox": Read-only file system\n'
    )
    assert one_line(job) == 'IO Error: Failed to create directory "/srv/lake/cinnox": Read-only file system'
    outage = (
        'Failed to execute query "BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ;\n'
        'DELETE FROM "callhouse"."loaded_ranges" WHERE source = \'cinnox\'; INSERT INTO "callhouse"."loaded_ranges" '
        'VALUES (1)": server closed the connection unexpectedly'
    )
    assert one_line(outage) == "a statement failed: server closed the connection unexpectedly"
