"""A team's own view on ours (what a dbt project or a BI tool's saved query creates) keeps
answering across nightly builds on every kind of warehouse; on PostgreSQL a change it cannot make
in place stops the build with one line naming that view, and changes nothing."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import psycopg2
import pytest

from pipelines.errors import CallhouseError
from pipelines.models.project import SQL_DIR
from pipelines.models.views import build_views
from tests.conftest import Cli, on_each_warehouse
from tests.views.nightly import nightly, small_cli

TEAM_VIEW = "create view team.missed as select * from reporting.calls where outcome = 'missed'"


def create_team_view(run: Cli) -> None:
    """As the team would: in PostgreSQL itself, or in the DuckDB file or lake."""
    if run.postgres is not None:
        with psycopg2.connect(run.postgres.url) as session, session.cursor() as cursor:
            cursor.execute("create schema team")
            cursor.execute(TEAM_VIEW)
        session.close()
        return
    con = run.lake.connect() if run.lake is not None else __import__("duckdb").connect(str(run.warehouse))
    try:
        con.execute("create schema team")
        con.execute(TEAM_VIEW)
    finally:
        con.close()


@pytest.mark.timeout(600)  # three loads of a DuckLake: a minute each on a busy two-core machine
@on_each_warehouse
def test_a_teams_view_on_reporting_calls_answers_after_two_nightly_loads(make_sandbox, cli, warehouse_kind):
    run = small_cli(make_sandbox, cli)
    nightly(run, 0, "cinnox")  # CINNOX alone: the other vendors' views are built empty
    create_team_view(run)
    first = run.query("select count(*), max(started_at) from team.missed")[0]
    nightly(run, 6, "cinnox")
    nightly(run, 6, "cinnox")
    rows = run.query("select * from team.missed order by vendor, call_id")
    assert rows == run.query("select * from reporting.calls where outcome = 'missed' order by vendor, call_id")
    # It answers with what the later nights loaded, not a copy of the first night's rows.
    assert len(rows) > first[0] > 0
    assert max(r[7] for r in rows) > first[1]


@pytest.fixture
def warehouse_kind() -> str:
    return "postgres"


def build(run: Cli, sql: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """`callhouse views` in this process, from another sql/ folder."""
    for key, value in run.full_env().items():
        if key.startswith(("DESTINATION__", "WAREHOUSE__", "REPORTING__", "CALLHOUSE_")):
            monkeypatch.setenv(key, value)
    out = io.StringIO()
    assert run.postgres is not None
    build_views(run.postgres, out, sql_dir=sql)
    return out.getvalue()


def edited(folder: Path, *edits: tuple[str, str, str]) -> Path:
    """A copy of sql/ with each (file, old, new) edit made."""
    sql = folder / "sql"
    shutil.copytree(SQL_DIR, sql)
    for file, old, new in edits:
        path = sql / file
        text = path.read_text()
        assert old in text, (file, old)
        path.write_text(text.replace(old, new, 1))
    return sql


def test_a_change_postgresql_cannot_make_in_place_names_the_teams_view_and_changes_nothing(
    make_sandbox, cli, tmp_path, monkeypatch
):
    run = small_cli(make_sandbox, cli)
    nightly(run, 0, "cinnox")
    create_team_view(run)
    before = run.query("select * from team.missed order by vendor, call_id")
    sql = edited(tmp_path, ("reporting/calls.sql", "        outcome,\n", "        outcome as call_outcome,\n"))
    with pytest.raises(CallhouseError) as failed:
        build(run, sql, monkeypatch)
    assert str(failed.value) == (
        'views: cannot replace reporting.calls in place (cannot change name of view column "outcome" to '
        '"call_outcome"), and team.missed reads it: save the definition of team.missed (pg_get_viewdef), '
        "drop it, run `callhouse views`, then create it again"
    )
    assert run.query("select * from team.missed order by vendor, call_id") == before
    assert [
        c
        for (c,) in run.query(
            "select column_name from information_schema.columns where table_name = 'calls' and table_schema = 'reporting'"
        )
        if c == "outcome"
    ] == ["outcome"]


def column_types(run: Cli, schema: str, name: str) -> list[tuple[str, str]]:
    """As PostgreSQL itself names them (DuckDB's attach would show its own types)."""
    assert run.postgres is not None
    with psycopg2.connect(run.postgres.url) as session, session.cursor() as cursor:
        cursor.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = %s and table_name = %s order by ordinal_position",
            [schema, name],
        )
        rows = cursor.fetchall()
    session.close()
    return rows


def test_changes_postgresql_makes_in_place_keep_the_teams_view(make_sandbox, cli, tmp_path, monkeypatch):
    run = small_cli(make_sandbox, cli)
    nightly(run, 0, "cinnox")
    create_team_view(run)
    before = run.query("select * from team.missed order by vendor, call_id")
    calls = column_types(run, "reporting", "calls")
    # A column added at the end: replaced in place.
    added = (
        "reporting/calls.sql",
        "has_recording\n\n    from with_outcome",
        "has_recording,\n        1 as added\n\n    from with_outcome",
    )
    assert "views: built" in build(run, edited(tmp_path, added), monkeypatch)
    calls.append(("added", "integer"))
    assert column_types(run, "reporting", "calls") == calls
    # A staging column's type changes, which PostgreSQL cannot do in place: the views of ours that
    # read it (reporting.calls, which the team's view reads) stand in empty while it is dropped and
    # created again, then are replaced in place; the team's view never notices.
    retyped = (
        "staging/outcome_map.sql",
        "    outcome_map.meaning\n",
        "    cast(outcome_map.meaning as varchar(300)) as meaning\n",
    )
    assert "views: built" in build(run, edited(tmp_path / "again", added, retyped), monkeypatch)
    assert ("meaning", "character varying") in column_types(run, "staging", "outcome_map")
    assert column_types(run, "reporting", "calls") == calls
    assert run.query("select * from team.missed order by vendor, call_id") == before
