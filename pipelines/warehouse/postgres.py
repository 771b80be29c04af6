"""PostgreSQL as the warehouse, where many teams already keep their data and point their BI tools.

dlt loads it (its postgres destination; Parquet through ADBC). callhouse's own reads and
bookkeeping (run log, loaded ranges, status, data tests, the report) go through a DuckDB session
with the database attached by DuckDB's postgres extension (from its pinned wheel), so the same SQL
serves every warehouse. The views are the exception: analysts query them from PostgreSQL itself,
so they are created natively (PostgresViewSession, in PostgreSQL's SQL) over a psycopg2 session.

Setting: dlt's `DESTINATION__POSTGRES__CREDENTIALS` (`postgresql://user:pass@host:5432/db`); its
password is kept out of every message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import duckdb

from pipelines.errors import CallhouseError, UsageError, missing_database, one_line
from pipelines.settings import warehouse_settings
from pipelines.warehouse.advisory_lock import advisory_lock
from pipelines.warehouse.attached import AttachedWarehouse
from pipelines.warehouse.database_url import EXAMPLE, checked_postgres_url, keep_secret, shown
from pipelines.warehouse.extensions import duckdb_config
from pipelines.warehouse.grants import check_roles, grant_views
from pipelines.warehouse.kind import T, ViewSession
from pipelines.warehouse.loaded_ranges import record_every_source
from pipelines.warehouse.postgres_views import drop_view, lock_holders, lock_wait_timeout, replace_view
from pipelines.warehouse.targets import check_postgres_warehouse

if TYPE_CHECKING:
    import psycopg2.extensions
    from dlt.common.destination import TDestinationReferenceArg

CREDENTIALS_SETTING = "DESTINATION__POSTGRES__CREDENTIALS"
ALIAS = "pg"  # DuckDB's name for the attached database
_REFUSED = re.compile(r"(?:connection to server at [^:]+ failed: )?(FATAL: .*|could not connect.*|Connection refused.*)", re.I)


@dataclass(frozen=True)
class PostgresWarehouse(AttachedWarehouse):
    url: str  # postgresql://user:pass@host:port/db
    work_dir: Path  # this machine's folder for dlt's working files

    @classmethod
    def from_settings(cls, work_dir: Path) -> PostgresWarehouse:
        import dlt

        url: object = dlt.secrets.get("destination.postgres.credentials")
        if not url:
            raise UsageError(f"WAREHOUSE__DESTINATION=postgres: set {CREDENTIALS_SETTING} (.dlt/secrets.toml or environment)")
        if not isinstance(url, str):
            raise UsageError(f"{CREDENTIALS_SETTING}: write it as one URL, {EXAMPLE}")
        return cls(checked_postgres_url(url, CREDENTIALS_SETTING), work_dir)

    def __post_init__(self) -> None:
        keep_secret(self.url)

    def describe(self) -> str:
        return f"PostgreSQL {shown(self.url)}"

    @property
    def folder(self) -> Path:
        return self.work_dir

    @property
    def pipelines_dir(self) -> Path:
        return self.work_dir / ".dlt_pipelines" / "postgres"

    @property
    def row_id(self) -> str:
        return "ctid"

    # --- sessions -----------------------------------------------------------------------------

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """A DuckDB session with the database attached and in use: `schema.table` names its tables."""
        con = duckdb.connect(config=duckdb_config())
        try:
            con.execute(f"ATTACH '{_libpq(self.url)}' AS {ALIAS} (TYPE postgres{', READ_ONLY' if read_only else ''})")
            con.execute(f"use {ALIAS}")
        except duckdb.Error as exc:
            con.close()
            raise self._cannot_open(exc) from None
        try:
            check_postgres_warehouse(con, ALIAS, self.url, CREDENTIALS_SETTING)  # before anything is written
        except BaseException:
            con.close()
            raise
        return con

    def _cannot_open(self, exc: Exception) -> CallhouseError:
        """A session the server refused, in one line: a database that does not exist is a setting to fix."""
        return missing_database(_reason(exc), CREDENTIALS_SETTING) or CallhouseError(
            f"{self.describe()} cannot be opened: {_reason(exc)}"
        )

    def see_new_tables(self, con: duckdb.DuckDBPyConnection) -> None:
        """DuckDB's postgres extension caches the database's schemas and tables per session: a
        schema dlt created after `con` attached (a source's first load) is unknown to it until
        the cache is cleared."""
        con.execute("call pg_clear_cache()")

    def native(self) -> psycopg2.extensions.connection:
        """A psycopg2 session (autocommit off) for what must be PostgreSQL's own SQL: the views."""
        import psycopg2

        try:
            return psycopg2.connect(self.url.replace("postgres://", "postgresql://", 1), application_name="callhouse views")
        except psycopg2.Error as exc:
            raise self._cannot_open(exc) from None

    def in_view_transaction(self, work: Callable[[ViewSession], T]) -> T:
        """In PostgreSQL itself (analysts' tools query the views there), over a psycopg2 session.
        A lock another session holds (an analyst's open transaction on a view) is waited on for
        WAREHOUSE__LOCK_TIMEOUT_S at most, then the build stops naming it and rolls back."""
        timeout_s = warehouse_settings().lock_timeout_s
        session = self.native()
        try:
            with session, session.cursor() as cursor:  # commits at the end, rolls back on an error
                cursor.execute(f"set local lock_timeout = {max(1, round(timeout_s * 1000))}")
                return work(PostgresViewSession(self, cursor, timeout_s))
        finally:
            session.close()

    def lock_holders(self, schema: str, name: str, waiter_pid: int) -> list[str]:
        """Who holds a lock on schema.name, asked in a session of its own (the waiter's
        transaction is aborted); empty when that cannot be told."""
        import psycopg2

        try:
            session = self.native()
        except CallhouseError:
            return []
        try:
            with session, session.cursor() as cursor:
                return lock_holders(cursor, schema, name, waiter_pid)
        except psycopg2.Error:
            return []
        finally:
            session.close()

    def destination(self, connection: duckdb.DuckDBPyConnection) -> TDestinationReferenceArg:
        """dlt's postgres destination, each load published in one transaction (publish.py)."""
        from pipelines.warehouse.publish import postgres_published

        return postgres_published(credentials=_with_lock_timeout(self.url.replace("postgres://", "postgresql://", 1)))

    # --- who may write ------------------------------------------------------------------------

    def source_lock(self, source: str, command: str, wait_s: float = 0.0) -> AbstractContextManager[None]:
        return advisory_lock(self.url, f"warehouse:{source}", source, command, wait_s, self.describe())


class PostgresViewSession(ViewSession):
    """The view build in PostgreSQL's own SQL, on a psycopg2 cursor inside the caller's transaction."""

    def __init__(self, warehouse: PostgresWarehouse, cursor: psycopg2.extensions.cursor, lock_timeout_s: float) -> None:
        self.warehouse = warehouse
        self.cursor = cursor
        self.lock_timeout_s = lock_timeout_s
        self.ours: set[tuple[str, str]] = set()  # the views of sql/, set by clear_views

    @contextmanager
    def _locking(self, schema: str, name: str) -> Iterator[None]:
        """A lock wait on schema.name that ran out as one line naming who holds the lock."""
        import psycopg2.errors

        try:
            yield
        except psycopg2.errors.LockNotAvailable:
            holders = self.warehouse.lock_holders(schema, name, self.cursor.connection.get_backend_pid())
            raise lock_wait_timeout(schema, name, self.lock_timeout_s, holders) from None

    @property
    def engine(self) -> str:
        return "postgres"

    def record_loaded_ranges(self, now: datetime) -> None:
        """Bookkeeping goes through the DuckDB session (loaded_ranges.py reads dlt's state there),
        so the ranges commit on their own, before the views: in one transaction, as a load writes
        them, so that no reader finds a source's ranges deleted and not yet inserted."""
        con = self.warehouse.connect()
        try:
            con.execute("begin")
            record_every_source(con, now)
            con.execute("commit")
        finally:
            con.close()

    def knows_timezone(self, zone: str) -> bool:
        import psycopg2

        # In a savepoint: a failed statement would abort the build's transaction.
        self.cursor.execute("savepoint timezone_check")
        try:
            self.cursor.execute("select timezone(%s, now())", [zone])
        except psycopg2.Error:
            self.cursor.execute("rollback to savepoint timezone_check")
            return False
        self.cursor.execute("release savepoint timezone_check")
        return True

    def tables(self) -> set[tuple[str, str]]:
        self.cursor.execute("select lower(table_schema), lower(table_name) from information_schema.tables")
        return {(s, n) for s, n in self.cursor.fetchall()}

    def create_schema(self, schema: str) -> None:
        self.cursor.execute(f"create schema if not exists {schema}")

    def clear_views(self, schemas: Sequence[str], views: Sequence[tuple[str, str]]) -> None:
        """Drops the views of ours no longer in sql/; the others are replaced in place by
        create_view (postgres_views.py), so grants and views of others on ours stay."""
        self.ours = set(views)
        self.cursor.execute(
            "select table_schema, table_name from information_schema.views where table_schema = any(%s)", [list(schemas)]
        )
        for schema, name in [v for v in self.cursor.fetchall() if v not in self.ours]:
            with self._locking(schema, name):
                drop_view(self.cursor, schema, name, self.ours, f"cannot drop {schema}.{name} (no longer in sql/)")

    def create_view(self, schema: str, name: str, select: str) -> None:
        with self._locking(schema, name):
            replace_view(self.cursor, schema, name, select, self.ours)

    def check_readers(self, roles: Sequence[str]) -> None:
        check_roles(self.cursor, roles, self.warehouse.describe())

    def grant_readers(self, roles: Sequence[str], schemas: Sequence[str], views: Sequence[str]) -> bool:
        grant_views(self.cursor, roles, schemas, views)
        return True


def _with_lock_timeout(url: str) -> str:
    """The URL with WAREHOUSE__LOCK_TIMEOUT_S as a startup option of every session dlt opens, so a
    load waiting on an analyst's lock (a schema change, an explicit LOCK) gives up too. libpq reads
    `options` unquoted: `-clock_timeout=...` has no space to encode."""
    timeout_ms = max(1, round(warehouse_settings().lock_timeout_s * 1000))
    parts = urlsplit(url)
    query = [pair for pair in parts.query.split("&") if pair]
    if any(pair.startswith("options=") for pair in query):
        return url  # the user's own startup options win (docs/configuration.md)
    query.append(f"options=-clock_timeout%3D{timeout_ms}")
    return parts._replace(query="&".join(query)).geturl()


def _libpq(url: str) -> str:
    """The URL as DuckDB's postgres extension takes it (it knows postgresql://)."""
    return url.replace("postgres://", "postgresql://", 1).replace("'", "''")


def _reason(exc: Exception) -> str:
    text = one_line(exc, 1000)
    refused = _REFUSED.search(text)
    return refused.group(1) if refused else text
