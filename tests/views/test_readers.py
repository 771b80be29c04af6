"""REPORTING__READERS: the roles named there read every reporting view after any number of nightly
builds, and write nothing: on PostgreSQL, and on a DuckLake whose catalog is in PostgreSQL (where
later loads create catalog tables of their own). A role that does not exist is one line."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

import duckdb
import psycopg2
import pytest

from pipelines.models.project import load_models
from pipelines.warehouse.ducklake import LAKE_NAME
from pipelines.warehouse.extensions import duckdb_config
from tests.conftest import Cli
from tests.views.nightly import backfill, nightly, small_cli

REPORTING = sorted(m.qualified for m in load_models() if m.schema == "reporting")
READER = "analyst"


def reader_url(run_url: str) -> tuple[str, str]:
    """A LOGIN role `analyst` with a new password on the test server; its URL for the same database."""
    parts = urlsplit(run_url)
    password = secrets.token_urlsafe(12)
    with psycopg2.connect(run_url) as session, session.cursor() as cursor:
        cursor.execute(f"select 1 from pg_roles where rolname = '{READER}'")
        if not cursor.fetchone():  # roles belong to the whole server, which other tests share
            cursor.execute(f"create role {READER} login")
        cursor.execute(f"alter role {READER} login password %s", [password])
    session.close()
    return run_url.replace(f"{parts.username}:{parts.password}@", f"{READER}:{password}@", 1), password


def counts_as_owner(run: Cli) -> dict[str, int]:
    return {view: run.query(f"select count(*) from {view}")[0][0] for view in REPORTING}


def catalog_tables(url: str) -> set[str]:
    with psycopg2.connect(url) as session, session.cursor() as cursor:
        cursor.execute("select tablename from pg_tables where schemaname = %s", [LAKE_NAME])
        names = {name for (name,) in cursor.fetchall()}
    session.close()
    return names


@pytest.fixture
def warehouse_kind() -> str:
    return "postgres"


def test_a_reader_role_reads_every_reporting_view_after_two_nightly_runs_and_writes_nothing(make_sandbox, cli):
    run = small_cli(make_sandbox, cli, REPORTING__READERS=READER)
    assert run.postgres is not None
    url, _ = reader_url(run.postgres.url)
    backfill(run)
    nightly(run, 0)
    out = nightly(run, 6)
    assert f"views: {READER} may read them (REPORTING__READERS)" in out
    expected = counts_as_owner(run)
    assert expected["reporting.calls"] > 100 and expected["reporting.sip_messages"] > 100, expected
    session = psycopg2.connect(url)
    try:
        with session.cursor() as cursor:
            read = {}
            for view in REPORTING:
                cursor.execute(f"select count(*) from {view}")
                read[view] = cursor.fetchone()[0]
            assert read == expected
            for statement in (
                "insert into cinnox.call_detail (id) values ('x')",
                "update callhouse.runs set message = 'x'",
                "create table reporting.mine (a int)",
                "create view staging.mine as select 1 as a",
                "create table public.mine (a int)",
                "select count(*) from cinnox.call_detail",  # the raw tables were not granted
            ):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cursor.execute(statement)
                session.rollback()
    finally:
        session.close()


def test_a_role_that_does_not_exist_is_one_line(make_sandbox, cli):
    run = cli(None, REPORTING__READERS=f"{READER}, metabase_nobody")
    assert run.postgres is not None
    reader_url(run.postgres.url)
    result = run("views")
    port, database = urlsplit(run.postgres.url).port, urlsplit(run.postgres.url).path
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"callhouse: REPORTING__READERS: role 'metabase_nobody' does not exist in PostgreSQL postgres://127.0.0.1:{port}"
        f"{database}: create it (create role metabase_nobody login) or take it out of the setting"
    ], result.stderr


@pytest.mark.timeout(600)  # three loads of a DuckLake: a minute each on a busy two-core machine
@pytest.mark.parametrize("warehouse_kind", ["ducklake"])
def test_a_reader_role_attaches_a_ducklake_read_only_after_two_nightly_loads(make_sandbox, cli, warehouse_kind):
    run = small_cli(make_sandbox, cli, REPORTING__READERS=READER)
    assert run.lake is not None
    url, _ = reader_url(run.lake.catalog)
    nightly(run, 0, "cinnox")
    out = nightly(run, 6, "cinnox")
    assert f"views: {READER} may read them (REPORTING__READERS)" in out
    # A load after the last build, of a source new to the lake: the catalog tables it creates
    # (DuckLake's inlined data of the new tables) are the reader's to read too.
    before = catalog_tables(run.lake.catalog)
    backfill(run, "genesys")
    assert catalog_tables(run.lake.catalog) - before
    expected = counts_as_owner(run)
    assert expected["reporting.calls"] > 100, expected
    expected["genesys.siptraces"] = run.query("select count(*) from genesys.siptraces")[0][0]
    assert expected["genesys.siptraces"] > 100
    con = duckdb.connect(config=duckdb_config())
    try:
        con.execute(
            f"ATTACH 'ducklake:postgres:{url}' AS {LAKE_NAME} "
            f"(READ_ONLY, DATA_PATH '{run.lake.storage}', METADATA_SCHEMA '{LAKE_NAME}')"
        )
        con.execute(f"USE {LAKE_NAME}")
        assert {name: con.execute(f"select count(*) from {name}").fetchone()[0] for name in expected} == expected
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("create table reporting.mine (a int)")
    finally:
        con.close()
    # And in the catalog itself the role reads, never writes.
    session = psycopg2.connect(url)
    try:
        with session.cursor() as cursor:
            cursor.execute(
                "select count(*) from pg_tables where schemaname = %s "
                "and not has_table_privilege(%s, format('%%I.%%I', schemaname, tablename), 'SELECT')",
                [LAKE_NAME, READER],
            )
            assert cursor.fetchone() == (0,)
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cursor.execute(f"delete from {LAKE_NAME}.ducklake_snapshot")
    finally:
        session.close()


@pytest.mark.parametrize("warehouse_kind", ["duckdb"])
def test_a_duckdb_file_has_no_roles_to_grant_and_says_so_in_one_line(cli, warehouse_kind):
    run = cli(None, REPORTING__READERS=READER)
    result = run("views")
    assert result.returncode == 0, result.output
    assert (
        f"views: REPORTING__READERS has nothing to grant on warehouse {run.warehouse} (it has no roles): "
        "readers need read access to its files (docs/shared-warehouse.md)"
    ) in result.stdout.splitlines()
