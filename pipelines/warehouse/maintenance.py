"""Keeping a warehouse lean: what `callhouse maintain` does on each kind, one line per step.

A DuckLake never deletes a file by itself: every load adds Parquet files and snapshots, and dlt's
`<source>_staging` tables may keep rows of published loads. Maintenance deletes those leftovers,
expires the snapshots older than the retention (the time travel analysts keep), merges small files
and removes the files no remaining snapshot references, the steps DuckLake's CHECKPOINT bundles,
run one by one so each can say what it did. A DuckDB file is checkpointed; PostgreSQL's tables are
vacuumed and analyzed. When a warehouse was last maintained is kept in `callhouse.maintenance`,
for the nightly run's schedule.
"""

from __future__ import annotations

import os
from typing import TextIO

import duckdb
import pendulum
from dlt.common.configuration import configspec
from dlt.common.configuration.specs import BaseConfiguration

from pipelines.errors import UsageError
from pipelines.fetch.windows import parse_duration
from pipelines.settings import resolve, setting_name
from pipelines.sources.registry import NAMES
from pipelines.warehouse.compaction import vacuum
from pipelines.warehouse.conflicts import retry_on_conflict
from pipelines.warehouse.duckdb_file import DuckDBFile
from pipelines.warehouse.ducklake import LAKE_NAME, DuckLake
from pipelines.warehouse.kind import Warehouse
from pipelines.warehouse.layout import OPS_SCHEMA
from pipelines.warehouse.postgres import PostgresWarehouse

STAGING_SUFFIX = "_staging"  # dlt's staging dataset of a source: `<dataset>_staging`
ORPHAN_GRACE = pendulum.duration(hours=1)  # a file no catalog knows may be one a load is writing now
MAINTENANCE_DDL = f"create table if not exists {OPS_SCHEMA}.maintenance (finished_at timestamptz, summary text)"


@configspec
class MaintenanceSettings(BaseConfiguration):
    # How long a DuckLake keeps old snapshots (its time travel) before `maintain` expires them.
    snapshot_retention: str = "7d"
    # How often the nightly `run` maintains the warehouse itself (e.g. 1d); unset: only `callhouse maintain`.
    maintain_every: str | None = None

    def retention(self) -> pendulum.Duration:
        return parse_duration(str(self.snapshot_retention), setting_name("ducklake", "snapshot_retention"))

    def every(self) -> pendulum.Duration | None:
        if not self.maintain_every or str(self.maintain_every).strip().lower() in ("", "never", "off"):
            return None
        return parse_duration(str(self.maintain_every), setting_name("ducklake", "maintain_every"))


def maintenance_settings() -> MaintenanceSettings:
    settings = resolve(MaintenanceSettings(), "ducklake")
    settings.retention(), settings.every()  # a bad duration is exit 2 before any work
    return settings


def maintain(warehouse: Warehouse, out: TextIO, wait_s: float = 0.0) -> None:
    settings = maintenance_settings()
    if isinstance(warehouse, DuckLake):
        steps = _maintain_lake(warehouse, settings.retention(), str(settings.snapshot_retention), wait_s)
    elif isinstance(warehouse, PostgresWarehouse):
        steps = _maintain_postgres(warehouse)
    elif isinstance(warehouse, DuckDBFile):
        steps = _maintain_file(warehouse, wait_s)
    else:
        raise TypeError(f"no maintenance for {warehouse.describe()}")
    for step in steps:
        out.write(f"maintain: {step}\n")
    out.flush()
    _record(warehouse, "; ".join(steps))


def last_maintained(warehouse: Warehouse) -> pendulum.DateTime | None:
    con = warehouse.connect()
    try:
        known = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = 'maintenance'", [OPS_SCHEMA]
        ).fetchall()[0][0]
        if not known:
            return None
        row = con.execute(f"select max(finished_at) from {OPS_SCHEMA}.maintenance").fetchone()
        return pendulum.instance(row[0]) if row and row[0] else None
    finally:
        con.close()


def _record(warehouse: Warehouse, summary: str) -> None:
    con = warehouse.connect()
    try:

        def write() -> None:
            con.execute(f"create schema if not exists {OPS_SCHEMA}")
            con.execute(MAINTENANCE_DDL)
            con.execute(f"insert into {OPS_SCHEMA}.maintenance values (?, ?)", [pendulum.now("UTC"), summary])

        if isinstance(warehouse, DuckDBFile):
            with warehouse.writer_lock("maintain"):
                write()
        else:
            retry_on_conflict(write)
    finally:
        con.close()


# --- DuckLake ---------------------------------------------------------------------------------


def _maintain_lake(lake: DuckLake, retention: pendulum.Duration, written: str, wait_s: float) -> list[str]:
    """Every source's load lock is held: a merge or an expiry racing a commit would fail it."""
    from contextlib import ExitStack

    with ExitStack() as locks:
        for source in NAMES:
            locks.enter_context(lake.source_lock(source, "maintain", wait_s))
        con = lake.connect()
        try:
            before = _lake_files(con, lake)
            steps = [_empty_staging(con)]
            older_than = f"now() - interval '{int(retention.total_seconds())} seconds'"
            expired = con.execute(f"call ducklake_expire_snapshots('{LAKE_NAME}', older_than => {older_than})").fetchall()
            steps.append(f"{len(expired)} snapshots expired (older than DUCKLAKE__SNAPSHOT_RETENTION={written})")
            merged = con.execute(f"call ducklake_merge_adjacent_files('{LAKE_NAME}')").fetchall()
            steps.append(
                f"{sum(r[2] for r in merged)} small files merged into {sum(r[3] for r in merged)}"
                if merged
                else "no small files to merge"
            )
            # What no snapshot references any more, at once: DuckLake's CHECKPOINT does the same.
            removed = con.execute(f"call ducklake_cleanup_old_files('{LAKE_NAME}', cleanup_all => true)").fetchall()
            orphans_before = f"now() - interval '{int(max(retention, ORPHAN_GRACE).total_seconds())} seconds'"
            orphans = con.execute(
                f"call ducklake_delete_orphaned_files('{LAKE_NAME}', older_than => {orphans_before})"
            ).fetchall()
            after = _lake_files(con, lake)
            steps.append(
                f"{len(removed) + len(orphans)} unreferenced files removed, {_size(max(0, before[1] - after[1]))} freed; "
                f"the lake's data now {after[0]} files, {_size(after[1])} (was {before[0]} files, {_size(before[1])})"
            )
            return steps
        finally:
            con.close()


def _empty_staging(con: duckdb.DuckDBPyConnection) -> str:
    """A load is published from its staging rows in one transaction that also empties them
    (publish.py), so rows whose load is committed are leftovers (older versions left them at every
    load). Rows of a load not yet published are what a crashed run's rerun publishes: kept."""
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = ? and table_schema like ? and table_type = 'BASE TABLE'",
        [LAKE_NAME, f"%{STAGING_SUFFIX}"],
    ).fetchall()
    rows = 0
    for schema, table in tables:
        loads = f'"{schema.removesuffix(STAGING_SUFFIX)}"._dlt_loads'
        try:
            deleted = con.execute(
                f'delete from "{schema}"."{table}" where _dlt_load_id in (select load_id from {loads})'
            ).fetchall()
        except (duckdb.CatalogException, duckdb.BinderException):
            continue  # no `_dlt_load_id` column or no loads table: nothing known to be published
        rows += deleted[0][0]
    return f"staging leftovers: {rows} rows deleted from {len(tables)} tables"


def _lake_files(con: duckdb.DuckDBPyConnection, lake: DuckLake) -> tuple[int, int]:
    """Files and bytes under the lake's data path, as the store lists them (the sizes only: no
    file is read)."""
    pattern = lake.storage.rstrip("/") + "/**"
    [(files, size)] = con.execute("select count(*), coalesce(sum(size), 0) from read_blob(?)", [pattern]).fetchall()
    return int(files), int(size)


# --- the other kinds ------------------------------------------------------------------------


def _maintain_file(file: DuckDBFile, wait_s: float) -> list[str]:
    if not file.exists:
        raise UsageError(f"no warehouse at {file.path}: run `callhouse run` or `callhouse backfill` first")
    before = os.path.getsize(file.path)
    with file.writer_lock("maintain", wait_s):
        con = file.connect()
        try:
            con.execute("checkpoint")
        finally:
            con.close()
    return [f"checkpoint: {file.path.name} {_size(os.path.getsize(file.path))} (was {_size(before)})"]


def _maintain_postgres(warehouse: PostgresWarehouse) -> list[str]:
    """VACUUM (ANALYZE) of callhouse's tables: the sources', their staging and the run log."""
    schemas = [*NAMES, *(f"{n}{STAGING_SUFFIX}" for n in NAMES), OPS_SCHEMA]
    session = warehouse.native()
    try:
        with session.cursor() as cursor:
            cursor.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema = any(%s) and table_type = 'BASE TABLE' order by 1, 2",
                [schemas],
            )
            tables = cursor.fetchall()
    finally:
        session.close()
    vacuum(warehouse, tables, "(analyze)")
    return [f"vacuum (analyze): {len(tables)} tables"]


def _size(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count} B"
