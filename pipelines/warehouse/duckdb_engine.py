"""The views built in DuckDB, in a DuckDB transaction: what the DuckDB file and a DuckLake share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import duckdb

from pipelines.warehouse.catalog import existing_tables
from pipelines.warehouse.conflicts import retry_on_conflict
from pipelines.warehouse.kind import T, ViewSession, Warehouse
from pipelines.warehouse.loaded_ranges import record_every_source


class DuckDBEngine(Warehouse):
    """A warehouse whose views DuckDB builds and runs (the file, DuckLake)."""

    @property
    def row_id(self) -> str:
        return "rowid"

    def in_view_transaction(self, work: Callable[[ViewSession], T]) -> T:
        con = self.connect()
        try:
            # On a DuckLake another process may commit first (a load, another build): run it again.
            return retry_on_conflict(lambda: _in_transaction(con, lambda: work(DuckDBViewSession(con))))
        finally:
            con.close()


def _in_transaction(con: duckdb.DuckDBPyConnection, work: Callable[[], T]) -> T:
    con.execute("begin")
    try:
        result = work()
        con.execute("commit")
    except BaseException:
        try:
            con.execute("rollback")
        except duckdb.Error:
            pass  # a commit that failed has ended the transaction already
        raise
    return result


class DuckDBViewSession(ViewSession):
    """The view build on the warehouse's DuckDB session; the loaded ranges in the same transaction."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    @property
    def engine(self) -> str:
        return "duckdb"

    def record_loaded_ranges(self, now: datetime) -> None:
        record_every_source(self.con, now)

    def knows_timezone(self, zone: str) -> bool:
        # Asked of a DuckDB of its own: a failed statement would abort the build's transaction, and
        # every DuckDB of this process knows the same zones.
        probe = duckdb.connect()
        try:
            probe.execute("select timezone(?, timestamptz '2000-01-01 00:00:00+00')", [zone]).fetchone()
        except duckdb.Error:
            return False
        finally:
            probe.close()
        return True

    def tables(self) -> set[tuple[str, str]]:
        return existing_tables(self.con)

    def create_schema(self, schema: str) -> None:
        self.con.execute(f"create schema if not exists {schema}")

    def clear_views(self, schemas: Sequence[str], views: Sequence[tuple[str, str]]) -> None:
        """Only the views no longer wanted: DuckDB replaces a view in place, whatever its columns."""
        wanted = set(views)
        placeholders = ", ".join("?" * len(schemas))
        for schema, name in self.con.execute(
            "select schema_name, view_name from duckdb_views() "
            f"where not internal and database_name = current_database() and schema_name in ({placeholders})",
            list(schemas),
        ).fetchall():
            if (schema, name) not in wanted:
                self.con.execute(f'drop view "{schema}"."{name}"')

    def create_view(self, schema: str, name: str, select: str) -> None:
        self.con.execute(f"create or replace view {schema}.{name} as\n{select}")
