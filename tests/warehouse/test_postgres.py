"""PostgreSQL as the warehouse: its password kept out of every line and table, and the view build
all-or-nothing there too, a failing view named with PostgreSQL's own error."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pipelines.errors import CallhouseError
from pipelines.models.project import SQL_DIR
from pipelines.models.views import build_views
from pipelines.warehouse.postgres import PostgresWarehouse
from tests.conftest import TEST_NOW, Cli
from tests.support.secret_scan import files_holding

DAY = TEST_NOW.start_of("day").subtract(days=3)
BACKFILL = ("backfill", "--source", "cinnox", "--start", DAY.to_date_string(), "--end", DAY.add(days=1).to_date_string())


@pytest.fixture
def warehouse_kind() -> str:
    return "postgres"


@pytest.fixture
def loaded(make_sandbox, cli) -> Cli:
    run = cli(make_sandbox(cinnox_calls_per_day=300))
    assert run(*BACKFILL).returncode == 0
    assert run("views").returncode == 0
    return run


def test_the_password_never_reaches_output_or_tables(loaded):
    password = urlsplit(loaded.postgres.url).password
    wrong = loaded.postgres.url.replace(password, password + "-wrong")
    bad = loaded(*BACKFILL, env={"DESTINATION__POSTGRES__CREDENTIALS": wrong})
    outputs = [bad] + [loaded(command) for command in ("status", "check", "views")]
    for result in outputs:
        assert password not in result.output, result.output
    assert bad.returncode == 1
    assert bad.stderr.splitlines() == [
        f"callhouse: PostgreSQL postgres://127.0.0.1:{urlsplit(wrong).port}{urlsplit(wrong).path} cannot be opened: "
        'FATAL: password authentication failed for user "callhouse"'
    ], bad.stderr
    stored = loaded.query("select string_agg(coalesce(message, '') || cast(details as varchar), ' ') from callhouse.runs")[0][0]
    assert password not in stored
    assert files_holding(loaded.workdir, password) == []  # dlt's working files


def test_a_failing_view_names_its_file_and_postgresqls_error_and_changes_nothing(loaded, tmp_path, monkeypatch):
    sql = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql)
    broken = sql / "reporting" / "daily_calls.sql"
    broken.write_text(broken.read_text().replace("count(*) as calls", "count(*) as calls, no_such_column as oops", 1))
    before = loaded.query("select count(*), sum(calls) from reporting.daily_calls")
    for key, value in loaded.full_env().items():
        if key.startswith(("DESTINATION__", "WAREHOUSE__", "REPORTING__", "CALLHOUSE_")):
            monkeypatch.setenv(key, value)
    warehouse = PostgresWarehouse(loaded.postgres.url, Path(loaded.warehouse).parent)
    with pytest.raises(CallhouseError) as failed:
        build_views(warehouse, io.StringIO(), sql_dir=sql)
    message = str(failed.value)
    assert message.startswith("views: sql/reporting/daily_calls.sql: column ") and "no_such_column" in message
    assert "\n" not in message
    assert loaded.query("select count(*), sum(calls) from reporting.daily_calls") == before
