"""`callhouse.purged`: per source, the cut before which calls were purged (retention, `callhouse purge`).

What was purged is neither a gap to backfill nor hours of zero calls: the loaded ranges the views
join to start at the cut (loaded_ranges.py), `status` shows the cut, and a backfill before it is
refused unless forced (it would load again what was deleted on purpose).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb

from pipelines.fetch.windows import iso, parse_instant
from pipelines.warehouse.catalog import count
from pipelines.warehouse.conflicts import retry_on_conflict
from pipelines.warehouse.layout import OPS_SCHEMA

TABLE = f"{OPS_SCHEMA}.purged"
DDL = f"""
create schema if not exists {OPS_SCHEMA};
create table if not exists {TABLE} (source text, purged_before timestamptz, purged_at timestamptz);
"""


def purged_before(con: duckdb.DuckDBPyConnection, source: str) -> datetime | None:
    """The source's cut, None when nothing was purged. Looked up, not tried: a failed query would
    abort the caller's transaction."""
    if not count(
        con, "select count(*) from information_schema.tables where table_schema = ? and table_name = 'purged'", [OPS_SCHEMA]
    ):
        return None
    row = con.execute(cut_sql(), [source]).fetchone()
    return cut_in(row)


def cut_sql(placeholder: str = "?") -> str:
    """A source's cut; one parameter, the source (`placeholder`: the SQL client's)."""
    return f"select max(purged_before) from {TABLE} where source = {placeholder}"


def cut_in(row: Sequence[Any] | None) -> datetime | None:
    """The cut in cut_sql's row, None when nothing was purged."""
    return parse_instant(row[0].isoformat()) if row and row[0] is not None else None


def record_purge(con: duckdb.DuckDBPyConnection, source: str, cut: datetime, at: datetime) -> None:
    """Remember the cut; an earlier cut than the one recorded changes nothing."""

    def write() -> None:
        con.execute(DDL)
        con.execute(f"insert into {TABLE} values (?, ?, ?)", [source, cut, at])

    retry_on_conflict(write)


def without_purged(coverage: list[list[str]], cut: datetime | None) -> list[list[str]]:
    """Coverage from the cut on: the purged part is not loaded data any more."""
    if cut is None:
        return coverage
    kept = []
    for start, end in coverage:
        if parse_instant(end) <= cut:
            continue
        kept.append([start if parse_instant(start) >= cut else iso(cut), end])
    return kept
