"""Wrong targets are refused before anything is written (issue 24, finding 8), and file catalogs
work as documented (finding 9): a DuckLake catalog pointed at a PostgreSQL warehouse or at a
callhouse DuckDB file, a PostgreSQL warehouse pointed at a lake's catalog, a first data path that
cannot be written; SQLite and DuckDB catalog files given as absolute paths, from another folder."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import psycopg2
import pytest

from pipelines.warehouse.ducklake import normalize_catalog
from tests.conftest import TEST_NOW, lake_env, postgres_env
from tests.sources.test_cinnox import truth_tables, warehouse_tables

DAY = TEST_NOW.start_of("day").subtract(days=3)
BACKFILL = ("backfill", "--source", "cinnox", "--start", DAY.to_date_string(), "--end", DAY.add(days=1).to_date_string())
CATALOG = "DESTINATION__DUCKLAKE__CREDENTIALS__CATALOG"
STORAGE = "DESTINATION__DUCKLAKE__CREDENTIALS__STORAGE"


def pg_tables(url: str) -> list[tuple[str, str]]:
    """Every table and view of the database outside PostgreSQL's own schemas."""
    session = psycopg2.connect(url)
    try:
        with session.cursor() as cursor:
            cursor.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema not in ('pg_catalog', 'information_schema') order by 1, 2"
            )
            return cursor.fetchall()
    finally:
        session.close()


def shown(url: str) -> str:
    parts = urlsplit(url)
    return f"postgres://{parts.hostname}:{parts.port}{parts.path}"


@pytest.mark.parametrize("warehouse_kind", ["postgres"])
def test_a_lake_catalog_pointed_at_a_postgres_warehouse_is_refused_before_writing(make_sandbox, cli, postgres_db, tmp_path):
    run = cli(make_sandbox(cinnox_calls_per_day=100))
    assert run(*BACKFILL).returncode == 0
    before = pg_tables(postgres_db)
    for command in (BACKFILL, ("status",)):
        refused = run(*command, env=lake_env(postgres_db, tmp_path / "lake"))
        assert refused.returncode == 2, refused.output
        assert refused.stderr.splitlines() == [
            f"callhouse: {CATALOG}: {shown(postgres_db)} holds a PostgreSQL warehouse (cinnox._dlt_loads), not a DuckLake "
            "catalog: give the lake a database of its own, or set WAREHOUSE__DESTINATION=postgres to load that warehouse"
        ]
    assert pg_tables(postgres_db) == before  # no `ducklake` schema, no catalog table
    assert not (tmp_path / "lake").exists()


@pytest.mark.parametrize("warehouse_kind", ["ducklake"])
def test_a_postgres_warehouse_pointed_at_a_lake_catalog_is_refused_before_writing(make_sandbox, cli, postgres_db):
    run = cli(make_sandbox(cinnox_calls_per_day=100))
    assert run(*BACKFILL).returncode == 0
    before = pg_tables(postgres_db)
    assert ("ducklake", "ducklake_metadata") in before
    for command in (BACKFILL, ("views",)):
        refused = run(*command, env=postgres_env(postgres_db))
        assert refused.returncode == 2, refused.output
        assert refused.stderr.splitlines() == [
            f"callhouse: DESTINATION__POSTGRES__CREDENTIALS: {shown(postgres_db)} holds a DuckLake catalog "
            "(ducklake.ducklake_metadata), not a PostgreSQL warehouse: give the warehouse a database of its own, or set "
            "WAREHOUSE__DESTINATION=ducklake to load that lake"
        ]
    assert pg_tables(postgres_db) == before  # no raw schema, no run log, no view
    assert warehouse_tables(run) == truth_tables(run.sandbox, DAY, DAY.add(days=1))  # the lake reads as before


@pytest.mark.parametrize("scheme", ["duckdb", "sqlite"])
def test_a_catalog_pointed_at_a_callhouse_warehouse_file_is_refused_before_writing(make_sandbox, cli, tmp_path, scheme):
    run = cli(make_sandbox(cinnox_calls_per_day=100))
    assert run(*BACKFILL).returncode == 0
    digest = hashlib.sha256(run.warehouse.read_bytes()).hexdigest()
    refused = run(*BACKFILL, env=lake_env(f"{scheme}:///{run.warehouse}", tmp_path / "lake"))
    assert refused.returncode == 2, refused.output
    reason = {
        "duckdb": "a DuckDB file cannot hold a lake's catalog here (a load opens it twice, DuckDB lets a process open it "
        "once): use a SQLite file (sqlite:////path/catalog.sqlite) or PostgreSQL",
        "sqlite": "is not a SQLite catalog (file is not a database): give the lake a catalog file of its own",
    }[scheme]
    separator = ": " if scheme == "duckdb" else " "
    assert refused.stderr.splitlines() == [f"callhouse: {CATALOG}: {run.warehouse}{separator}{reason}"]
    assert hashlib.sha256(run.warehouse.read_bytes()).hexdigest() == digest  # not a byte written
    con = duckdb.connect(str(run.warehouse), read_only=True)
    try:
        assert con.execute("select count(*) from duckdb_tables() where table_name like 'ducklake%'").fetchone() == (0,)
    finally:
        con.close()
    assert not (tmp_path / "lake").exists()


@pytest.mark.parametrize("warehouse_kind", ["ducklake"])
def test_a_first_storage_that_cannot_be_written_does_not_stick(make_sandbox, cli, postgres_db, tmp_path):
    run = cli(make_sandbox(cinnox_calls_per_day=100))
    (tmp_path / "a-file").write_text("not a folder")
    bad = tmp_path / "a-file" / "lake"  # its parent is a file: no user, root included, can write it
    refused = run(*BACKFILL, env={STORAGE: str(bad)})
    assert refused.returncode == 2, refused.output
    assert refused.stderr.splitlines() == [f"callhouse: {STORAGE}: cannot write {bad}: Not a directory ({bad})"]
    assert pg_tables(postgres_db) == []  # no catalog: the corrected path below is the lake's first
    fixed = run(*BACKFILL)
    assert fixed.returncode == 0, fixed.output
    assert warehouse_tables(run) == truth_tables(run.sandbox, DAY, DAY.add(days=1))
    assert run(*BACKFILL, env={STORAGE: str(bad)}).returncode == 1  # the lake's data path is now fixed


def test_a_sqlite_catalog_given_as_an_absolute_path_works_from_another_folder(make_sandbox, cli, tmp_path_factory):
    # Four slashes, as SQLAlchemy and dlt read a URL: three for the URL, one for the absolute path;
    # its folder does not exist yet.
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    catalog_file = elsewhere / "catalogs" / "lake.sqlite"
    run = cli(make_sandbox(cinnox_calls_per_day=100), **lake_env(f"sqlite:///{catalog_file}", elsewhere / "data"))
    assert run.workdir != elsewhere and not elsewhere.is_relative_to(run.workdir)
    for command in (BACKFILL, ("views",), ("check",), ("status",)):
        result = run(*command)
        assert result.returncode == 0, (command, result.output)
    assert catalog_file.is_file()
    assert not (run.workdir / catalog_file.relative_to("/")).exists()
    assert warehouse_tables(run) == truth_tables(run.sandbox, DAY, DAY.add(days=1))
    expected = len(run.sandbox.truth.cinnox_calls(DAY, DAY.add(days=1)))
    assert run.query("select sum(calls) from reporting.daily_calls where vendor = 'cinnox'") == [(expected,)]


def test_catalog_urls_read_as_sqlalchemy_and_dlt_read_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert normalize_catalog("duckdb:////srv/callhouse/catalog.ducklake") == "duckdb:////srv/callhouse/catalog.ducklake"
    assert normalize_catalog("sqlite:////srv/callhouse/catalog.sqlite") == "sqlite:////srv/callhouse/catalog.sqlite"
    assert normalize_catalog("sqlite:///catalog.sqlite") == f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    assert normalize_catalog("/srv/callhouse/catalog.sqlite") == "sqlite:////srv/callhouse/catalog.sqlite"


def test_the_documented_file_catalogs_are_where_they_say(tmp_path, monkeypatch):
    # docs/ show catalog URLs users copy: each one naming /srv/... must be that absolute path,
    # whatever folder the command runs in.
    monkeypatch.chdir(tmp_path)
    docs = Path(__file__).resolve().parents[2] / "docs"
    shown_urls = [
        word.strip("`'\"(),")
        for name in ("shared-warehouse.md", "configuration.md")
        for word in (docs / name).read_text().split()
        if word.strip("`'\"(").startswith(("sqlite:///", "duckdb:///")) and "/srv/" in word
    ]
    assert shown_urls
    for url in shown_urls:
        assert urlsplit(normalize_catalog(url)).path.lstrip("/").startswith("srv/"), url
