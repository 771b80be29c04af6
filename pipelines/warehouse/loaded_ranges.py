"""`callhouse.loaded_ranges`: what each source has loaded, as a table the SQL can join to.

A source's coverage lives in its ledger (dlt state, committed with the data). Views cannot read
dlt's compressed state, so the time-bucketed views would report zeros for hours nobody loaded;
this table gives them the loaded ranges instead. A load writes its source's rows in the transaction
that publishes the load (publish.py), from the ledger that load commits; every view build rewrites
them all in one transaction. Either way a source's delete and insert commit together: a reader never
finds its ranges missing, nor claiming more than is committed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

from pipelines.extract.ledger import coverage_until
from pipelines.fetch.windows import parse_instant
from pipelines.sources.registry import NAMES
from pipelines.warehouse.catalog import committed_ledger
from pipelines.warehouse.conflicts import retry_on_conflict
from pipelines.warehouse.layout import OPS_SCHEMA
from pipelines.warehouse.purged_ranges import purged_before, without_purged

TABLE = f"{OPS_SCHEMA}.loaded_ranges"
DDL = f"""
create schema if not exists {OPS_SCHEMA};
create table if not exists {TABLE} (source text, loaded_from timestamptz, loaded_until timestamptz);
"""


def loaded_coverage(ledger: dict[str, Any], cut: datetime | None, now: datetime) -> list[list[str]]:
    """The ranges a ledger says are loaded, up to `now` and from the purge cut on (purged: not
    loaded, not zeros)."""
    return without_purged(coverage_until(ledger.get("coverage", []), now), cut)


def record_loaded_ranges(con: duckdb.DuckDBPyConnection, source: str, now: datetime) -> list[list[str]]:
    """Replace the source's rows with its committed coverage up to `now`; returns that coverage."""
    coverage = loaded_coverage(committed_ledger(con, source), purged_before(con, source), now)
    rows = [[source, parse_instant(start), parse_instant(end)] for start, end in coverage]

    def write() -> None:
        con.execute(DDL)
        con.execute(f"delete from {TABLE} where source = ?", [source])
        if rows:
            con.executemany(f"insert into {TABLE} values (?, ?, ?)", rows)

    retry_on_conflict(write)
    return coverage


def record_every_source(con: duckdb.DuckDBPyConnection, now: datetime) -> None:
    """Every source's rows, also for a warehouse loaded before the ranges were kept (a view build)."""
    for name in NAMES:
        record_loaded_ranges(con, name, now)
