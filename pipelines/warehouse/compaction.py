"""Making deleted rows' bytes go away, on each kind of warehouse (after `callhouse purge`).

A DELETE only marks rows: a DuckDB file keeps them in free blocks until they are reused, a
DuckLake keeps them in older snapshots and their Parquet files (and marks them in delete files
beside the data they stay in), PostgreSQL keeps dead tuples until a vacuum. Each function here
rewrites what holds them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import duckdb

from pipelines.warehouse.duckdb_file import DuckDBFile
from pipelines.warehouse.ducklake import LAKE_NAME, DuckLake
from pipelines.warehouse.kind import Warehouse
from pipelines.warehouse.postgres import PostgresWarehouse


def holds_nothing(warehouse: Warehouse) -> bool:
    """A DuckDB file not created yet: nothing to purge in it, and it is not created to find out."""
    return isinstance(warehouse, DuckDBFile) and not warehouse.exists


def compact(warehouse: Warehouse, tables: Sequence[tuple[str, str]]) -> None:
    """Rewrite what still holds deleted rows of `tables` ((schema, table) pairs); the caller holds
    the writer lock and no connection of its own to a DuckDB file."""
    if isinstance(warehouse, DuckDBFile):
        rewrite_duckdb_file(warehouse.path)
    elif isinstance(warehouse, DuckLake):
        expire_lake_files(warehouse)
    elif isinstance(warehouse, PostgresWarehouse):
        vacuum(warehouse, tables, "full")


def rewrite_duckdb_file(path: Path) -> None:
    """Copy every live row into a new file and put it in the old one's place (atomic rename):
    the new file never held the deleted rows. DuckDB's own copy keeps schemas, tables and views."""
    fresh = path.with_name(f".{path.stem}.compacting{path.suffix}")
    fresh.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        con.execute(f"attach '{_quoted(path)}' as old_file (read_only)")
        con.execute(f"attach '{_quoted(fresh)}' as new_file")
        con.execute("copy from database old_file to new_file")
        con.execute("detach new_file")
        con.execute("detach old_file")
    except BaseException:
        fresh.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    os.replace(fresh, path)
    Path(f"{path}.wal").unlink(missing_ok=True)  # checkpointed into the copy


def replace_purged_tables(warehouse: Warehouse, con: duckdb.DuckDBPyConnection, tables: Sequence[tuple[str, str]]) -> None:
    """On a DuckLake, each of `tables` as a new table of its live rows (in the caller's open
    transaction); the other kinds keep their tables. DuckLake keeps a table's min/max statistics
    in its catalog and does not recompute them when deletes drop whole files (rewriting the files
    does not either), so a purged value could stay there; a new table's statistics are made from
    what it holds."""
    if isinstance(warehouse, DuckLake):
        for schema, table in tables:
            _replace_lake_table(con, schema, table)


def _replace_lake_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> None:
    swap = f"{table}__purging"
    con.execute(f'create table "{schema}"."{swap}" as select * from "{schema}"."{table}"')
    con.execute(f'drop table "{schema}"."{table}"')
    con.execute(f'alter table "{schema}"."{swap}" rename to "{table}"')


def expire_lake_files(lake: DuckLake) -> None:
    """Rewrite data files that carry deletes, expire every older snapshot and remove the files
    no snapshot references: the purged rows exist in no file any more (no time travel before now)."""
    con = lake.connect()
    try:
        try:
            con.execute(f"call ducklake_rewrite_data_files('{LAKE_NAME}', delete_threshold => 0)")
        except duckdb.Error:
            con.execute(f"call ducklake_rewrite_data_files('{LAKE_NAME}')")
        con.execute(f"call ducklake_expire_snapshots('{LAKE_NAME}', older_than => now())")
        con.execute(f"call ducklake_cleanup_old_files('{LAKE_NAME}', cleanup_all => true)")
        con.execute(f"call ducklake_delete_orphaned_files('{LAKE_NAME}', cleanup_all => true)")
    finally:
        con.close()


def vacuum(warehouse: PostgresWarehouse, tables: Sequence[tuple[str, str]], options: str) -> None:
    """VACUUM (`options`: "full" writes a new copy of each table without its dead tuples; "(analyze)"
    frees them for reuse and refreshes the planner's statistics) of each of `tables`."""
    native = warehouse.native()
    try:
        native.autocommit = True  # VACUUM cannot run in a transaction
        with native.cursor() as cursor:
            for schema, table in tables:
                cursor.execute(f'vacuum {options} "{schema}"."{table}"')
    finally:
        native.close()


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
