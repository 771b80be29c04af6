"""`callhouse purge --before DATE [--source S]` and retention (`RETENTION__DAYS`,
`SOURCES__<S>__RETENTION_DAYS`, applied by the nightly load): calls that started before the cut
are deleted from the raw tables, their children and the quarantine, and then the bytes go away
(warehouse/compaction.py). The cut is remembered (warehouse/purged_ranges.py): status shows it,
the views do not count it as loaded, and a backfill before it needs --force.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import dlt
import duckdb
import pendulum

from pipelines.errors import EXIT_OK, UsageError
from pipelines.fetch.windows import iso, parse_instant
from pipelines.fetch.windows import now as current_time
from pipelines.settings import SettingValue, setting_name, whole_number
from pipelines.sources.registry import VENDORS, vendor
from pipelines.sources.vendor import Vendor
from pipelines.warehouse.catalog import count, schema_exists, table_names
from pipelines.warehouse.choice import resolve_warehouse
from pipelines.warehouse.compaction import compact, holds_nothing, replace_purged_tables
from pipelines.warehouse.kind import Warehouse
from pipelines.warehouse.loaded_ranges import record_loaded_ranges
from pipelines.warehouse.purged_ranges import purged_before, record_purge

RETENTION_SETTING = setting_name("retention", "days")


def purge(warehouse_arg: str | None, before: str, sources: tuple[str, ...] = (), out: Callable[[str], object] = print) -> int:
    cut = parse_instant(before, "--before")
    chosen = [vendor(s) for s in sources] if sources else list(VENDORS)
    warehouse = resolve_warehouse(warehouse_arg)
    # A DuckDB file that does not exist holds nothing: not created just to be purged.
    lines = [] if holds_nothing(warehouse) else purge_sources(warehouse, {v.name: cut for v in chosen}, "purge")
    for line in lines or [f"purge: {warehouse.describe()} holds none of {', '.join(v.name for v in chosen)}: nothing to purge"]:
        out(line)
    return EXIT_OK


def retention_cuts(now: datetime) -> dict[str, datetime]:
    """Per source, now minus its retention (the source's own setting, else RETENTION__DAYS)."""
    default: SettingValue = dlt.config.get("retention.days")
    cuts: dict[str, datetime] = {}
    for v in VENDORS:
        own: SettingValue = dlt.config.get(f"sources.{v.name}.retention_days")
        days, name = (own, v.setting("retention_days")) if own not in (None, "") else (default, RETENTION_SETTING)
        if days in (None, ""):
            continue
        cuts[v.name] = pendulum.instance(now).subtract(days=whole_number(days, name))
    return cuts


def purge_sources(warehouse: Warehouse, cuts: dict[str, datetime], command: str) -> list[str]:
    """Delete each source's calls before its cut, remember the cut, then compact; one line each."""
    lines: list[str] = []
    touched: list[tuple[str, str]] = []
    with warehouse.writer_lock(command):
        with warehouse.loading_connection() as con:
            for name, cut in cuts.items():
                with warehouse.source_lock(name, command):
                    deleted, tables = _delete_before(con, warehouse, vendor(name), cut)
                if tables:
                    touched.extend(tables)
                    lines.append(f"{name}: purged {deleted:,} records (with their child and quarantine rows) before {iso(cut)}")
        if touched:
            compact(warehouse, touched)
    return lines


def _delete_before(
    con: duckdb.DuckDBPyConnection, warehouse: Warehouse, chosen: Vendor, cut: datetime
) -> tuple[int, list[tuple[str, str]]]:
    """(calls deleted, tables touched); nothing for a source the warehouse does not hold."""
    name = chosen.name
    if not schema_exists(con, name):
        return 0, []
    present = set(table_names(con, name))
    touched: list[tuple[str, str]] = []
    deleted = 0
    con.execute("begin")
    for table, column in chosen.call_started.items():
        if table in present:
            deleted += count(con, f'select count(*) from "{name}"."{table}" where "{column}" < ?', [cut])
            con.execute(f'delete from "{name}"."{table}" where "{column}" < ?', [cut])
            touched.append((name, table))
    for child in (*chosen.child_tables, *chosen.purged_with):
        if child.table in present and child.parent in present:
            con.execute(
                f'delete from "{name}"."{child.table}" where "{child.key}" not in '
                f'(select "{child.parent_key}" from "{name}"."{child.parent}" where "{child.parent_key}" is not null)'
            )
            touched.append((name, child.table))
    if "quarantine" in present:
        # A quarantined record has no trusted call time: the window it was read in stands for it.
        con.execute(f'delete from "{name}".quarantine where window_start < ?', [cut])
        touched.append((name, "quarantine"))
    staging = f"{name}_staging"
    if schema_exists(con, staging):
        # dlt's merge staging keeps the rows of the last load until the next one: nothing in it is
        # needed between loads, and it may hold calls before the cut.
        for table in table_names(con, staging):
            con.execute(f'delete from "{staging}"."{table}"')
            touched.append((staging, table))
    replace_purged_tables(warehouse, con, touched)
    con.execute("commit")
    record_purge(con, name, cut, current_time())
    record_loaded_ranges(con, name, current_time())
    return deleted, touched


def refuse_backfill_into_purged(warehouse: Warehouse, sources: tuple[str, ...], start: datetime, force: bool) -> None:
    """A backfill that starts before a source's purge cut would load deleted calls again."""
    if force or holds_nothing(warehouse):
        return
    try:
        con = warehouse.connect(read_only=True)
    except UsageError:
        return  # no warehouse yet: nothing was purged
    try:
        for name in sources or tuple(v.name for v in VENDORS):
            cut = purged_before(con, name)
            if cut is not None and start < cut:
                raise UsageError(
                    f"{name}: calls before {iso(cut)} were purged (retention); backfill from there, "
                    "or pass --force to load them again"
                )
    finally:
        con.close()
