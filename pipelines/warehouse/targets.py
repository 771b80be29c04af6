"""Refusing a wrong target before anything is written to it.

Each kind creates what it needs on first use (DuckLake its catalog tables, dlt its schemas), so a
setting pointed at the wrong database would quietly turn it into something else: a DuckLake
catalog inside a PostgreSQL warehouse's database, a PostgreSQL warehouse inside a lake's catalog
database, thirty catalog tables inside a callhouse DuckDB file. The first session of a process on
a target looks at what it holds and refuses (UsageError: one line naming the setting, exit 2)
before any ATTACH that could write. A DuckDB file is refused as a catalog whatever it holds: a
load opens the catalog in two sessions of one process, which DuckDB does not allow for a file.

A new lake's data path is tried too: DuckLake stores the data path of a lake's first ATTACH in its
catalog (`ducklake_metadata`, key `data_path`) and refuses any other one afterwards, so a path that
cannot be written must be refused before that first ATTACH, not fixed in the catalog for good.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import duckdb

from pipelines.errors import UsageError, one_line
from pipelines.warehouse.database_url import shown

# Tables that make a database a callhouse warehouse loaded by dlt (any schema), and the one that
# makes it a DuckLake catalog (in the lake's metadata schema; `main` in a file catalog).
WAREHOUSE_TABLES = ("_dlt_loads", "_dlt_version")
LAKE_TABLE = "ducklake_metadata"
PROBE = "callhouse_target_probe"  # DuckDB's name for the database looked into
WRITE_CHECK = "_callhouse_write_check"  # the file a new lake's data path is tried with

_PG_TABLES = (
    "select n.nspname, c.relname from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace "
    f"where c.relkind in ('r', 'p') and c.relname in ('{LAKE_TABLE}', {', '.join(repr(t) for t in WAREHOUSE_TABLES)}) "
    "order by 1, 2"
)

_checked: set[str] = set()  # targets found right in this process: looked at once, not per session


def check_lake_catalog(con: duckdb.DuckDBPyConnection, catalog: str, metadata_schema: str, setting: str) -> bool:
    """Refuses a catalog that holds something other than a DuckLake; True when it holds no lake yet
    (the next ATTACH creates one). `con`: a session without the lake attached."""
    if catalog in _checked:
        return False
    scheme = urlsplit(catalog).scheme
    if scheme == "duckdb":
        # DuckDB opens a file in one database of a process at a time, and a load needs two (the
        # command's session and dlt's): such a lake never loads, and its first ATTACH writes.
        raise UsageError(
            f"{setting}: {_catalog_file(catalog)}: a DuckDB file cannot hold a lake's catalog here (a load opens it "
            "twice, DuckDB lets a process open it once): use a SQLite file (sqlite:////path/catalog.sqlite) or PostgreSQL"
        )
    in_postgres = scheme.startswith("postgres")
    tables = _postgres_tables(con, catalog) if in_postgres else _sqlite_tables(_catalog_file(catalog), setting)
    if ((metadata_schema if in_postgres else "main"), LAKE_TABLE) in tables:
        _checked.add(catalog)
        return False
    if in_postgres:
        # A database may hold other things beside a lake (its catalog has a schema of its own),
        # but not a callhouse warehouse: the two would share names and neither would be whole.
        warehouse = sorted(f"{schema}.{name}" for schema, name in tables if name in WAREHOUSE_TABLES)
        if warehouse:
            raise UsageError(
                f"{setting}: {shown(catalog)} holds a PostgreSQL warehouse ({warehouse[0]}), not a DuckLake catalog: "
                "give the lake a database of its own, or set WAREHOUSE__DESTINATION=postgres to load that warehouse"
            )
    elif tables:
        raise UsageError(
            f"{setting}: {_catalog_file(catalog)} holds tables ({sorted(tables)[0][1]}) but no DuckLake catalog: "
            "give the lake a catalog file of its own"
        )
    return True


def check_postgres_warehouse(con: duckdb.DuckDBPyConnection, alias: str, url: str, setting: str) -> None:
    """Refuses a PostgreSQL warehouse whose database holds a DuckLake catalog. `con`: a session with
    the database attached as `alias` (read-only or not; nothing is written)."""
    if url in _checked:
        return
    tables = con.execute(f"select * from postgres_query('{alias}', $${_PG_TABLES}$$)").fetchall()
    lakes = [f"{schema}.{name}" for schema, name in tables if name == LAKE_TABLE]
    if lakes:
        raise UsageError(
            f"{setting}: {shown(url)} holds a DuckLake catalog ({lakes[0]}), not a PostgreSQL warehouse: "
            "give the warehouse a database of its own, or set WAREHOUSE__DESTINATION=ducklake to load that lake"
        )
    _checked.add(url)


def check_new_storage(con: duckdb.DuckDBPyConnection, storage: str, setting: str) -> None:
    """Writes and removes a small file in a new lake's data path (an object store: writes it, with
    the session's storage secret; it stays, and `maintain` removes it with the files no snapshot
    knows), so a folder or bucket that cannot be written is refused before the catalog stores it."""
    if urlsplit(storage).scheme:
        target = f"{storage.rstrip('/')}/{WRITE_CHECK}.parquet"  # Parquet: what maintain's orphan sweep removes
        try:
            con.execute(f"copy (select 1 as ok) to '{target.replace(chr(39), chr(39) * 2)}' (format parquet)")
        except duckdb.Error as exc:
            raise UsageError(f"{setting}: cannot write {storage}: {one_line(exc, 200)}") from None
        return
    folder = Path(storage)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # A name of its own (not the process id): threads of one process attach at once, and one
        # removing another's probe failed the check ("No such file or directory").
        handle, probe = tempfile.mkstemp(prefix=f"{WRITE_CHECK}.", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(f"{setting}: cannot write {storage}: {exc.strerror or exc} ({exc.filename or storage})") from None


def make_catalog_folder(catalog: str, setting: str) -> None:
    """The folder of a new file catalog (DuckDB and SQLite create the file, not its folder)."""
    if urlsplit(catalog).scheme.startswith("postgres"):
        return
    file = _catalog_file(catalog)
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{setting}: cannot create {file.parent}: {exc.strerror or exc}") from None


def _postgres_tables(con: duckdb.DuckDBPyConnection, catalog: str) -> set[tuple[str, str]]:
    """(schema, table) of the lake and warehouse tables in the catalog's database, read through
    DuckDB's postgres extension attached read-only (the refusals of a bad URL stay DuckDB's)."""
    libpq = catalog.replace("postgres://", "postgresql://", 1).replace("'", "''")
    con.execute(f"attach '{libpq}' as {PROBE} (type postgres, read_only)")
    try:
        rows = con.execute(f"select * from postgres_query('{PROBE}', $${_PG_TABLES}$$)").fetchall()
    finally:
        con.execute(f"detach {PROBE}")
    return {(s, n) for s, n in rows}


def _sqlite_tables(file: Path, setting: str) -> set[tuple[str, str]]:
    """("main", table) of every table of a SQLite catalog file (a catalog file is the lake's alone);
    none when there is no file yet."""
    if not file.is_file() or file.stat().st_size == 0:
        return set()
    try:
        probe = sqlite3.connect(f"{file.as_uri()}?mode=ro", uri=True)
        try:
            return {("main", n) for (n,) in probe.execute("select name from sqlite_master where type = 'table'")}
        finally:
            probe.close()
    except sqlite3.DatabaseError as exc:  # a DuckDB warehouse, any other file
        raise UsageError(f"{setting}: {file} is not a SQLite catalog ({exc}): give the lake a catalog file of its own") from None


def _catalog_file(catalog: str) -> Path:
    """The file of a `sqlite:` (or `duckdb:`) catalog as normalize_catalog writes it (an absolute path)."""
    return Path("/" + catalog.split(":///", 1)[1].lstrip("/"))
