"""`callhouse.view_builds`: when the views were last built, so `status` can say whether they are
older than the last load (a load whose view build failed leaves them describing older data)."""

from __future__ import annotations

from datetime import datetime

import duckdb

from pipelines.warehouse.catalog import table_names
from pipelines.warehouse.conflicts import retry_on_conflict
from pipelines.warehouse.kind import Warehouse
from pipelines.warehouse.layout import OPS_SCHEMA

TABLE = f"{OPS_SCHEMA}.view_builds"
DDL = f"""
create schema if not exists {OPS_SCHEMA};
create table if not exists {TABLE} (built_at timestamptz, views bigint);
"""


def record_view_build(warehouse: Warehouse, at: datetime, views: int) -> None:
    """Keep one row: the newest build."""
    con = warehouse.connect()
    try:

        def write() -> None:
            con.execute(DDL)
            con.execute(f"delete from {TABLE}")
            con.execute(f"insert into {TABLE} values (?, ?)", [at, views])

        retry_on_conflict(write)
    finally:
        con.close()


def last_view_build(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the views were last built by callhouse, or None (never, or before this was kept)."""
    if "view_builds" not in table_names(con, OPS_SCHEMA):
        return None
    row = con.execute(f"select max(built_at) from {TABLE}").fetchone()
    return row[0] if row else None
