"""Builds `sql/` into the warehouse as views, all or none (models/project.py reads the files).

Two things are not plain files:
- `staging.reporting_settings` (one row: `timezone`) is written from the dlt setting
  `reporting.timezone` (`REPORTING__TIMEZONE`, default UTC); day and hour buckets join to it.
- `callhouse.loaded_ranges`, which `staging.loaded_ranges` reads, is rewritten from each source's
  committed ledger in the same transaction (loads also write it after every checkpoint).
- A staging view whose raw table is not loaded yet is built over no rows, typed from the
  `data_type` of the columns its YAML declares, so every later view builds for any set of sources.

The SQL of each view (the file, the settings row, a stub) comes from `models/dialects.py`, which
spells it for DuckDB or PostgreSQL; this module builds it on DuckDB (the file and DuckLake).
On PostgreSQL each view is replaced in place where it can be (warehouse/postgres_views.py), so
views of others on ours survive; the roles of `REPORTING__READERS` are granted read access at
every build (warehouse/grants.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import duckdb

from pipelines.errors import CallhouseError, UsageError, one_line
from pipelines.fetch.windows import now as current_time
from pipelines.models.dialects import missing_sources, view_sql
from pipelines.models.dialects import settings_sql as settings_sql  # re-exported: it lived here before
from pipelines.models.dialects import stub_sql as stub_sql  # re-exported: it lived here before
from pipelines.models.project import LAYERS, Model, ViewBuildError, load_models
from pipelines.settings import reporting_settings, setting_name
from pipelines.sources.registry import NAMES
from pipelines.warehouse.catalog import existing_tables
from pipelines.warehouse.choice import Warehouse
from pipelines.warehouse.conflicts import retry_on_conflict
from pipelines.warehouse.ducklake import LAKE_NAME
from pipelines.warehouse.grants import check_roles, grant_catalog, grant_views
from pipelines.warehouse.loaded_ranges import record_loaded_ranges
from pipelines.warehouse.postgres_views import drop_view, replace_view

# --- settings ---------------------------------------------------------------------------------


def reporting_timezone() -> str:
    return reporting_settings().timezone


def check_timezone(zone: str | None = None) -> str:
    """The reporting zone, checked on an in-memory DuckDB (no warehouse needed)."""
    zone = zone or reporting_timezone()
    con = duckdb.connect()
    try:
        _check_timezone(con, zone)
    finally:
        con.close()
    return zone


def _bad_zone(zone: str) -> UsageError:
    return UsageError(
        f"{setting_name('reporting', 'timezone')}: unknown time zone {zone!r} (use an IANA name such as UTC or America/New_York)"
    )


def _check_timezone(con: Any, zone: str) -> None:
    try:
        con.execute("select timezone(?, timestamptz '2000-01-01 00:00:00+00')", [zone]).fetchone()
    except Exception:
        raise _bad_zone(zone) from None


# --- building ---------------------------------------------------------------------------------


def _create_views(
    create: Callable[[Model, str], Any], engine: str, models: list[Model], zone: str, tables: set[tuple[str, str]]
) -> tuple[list[str], list[tuple[Model, list[str]]]]:
    """Every view in build order through `create(model, select)` (inside the caller's transaction);
    a failing one names its file and the engine's error. Returns the views built and those built as stubs."""
    built: list[str] = []
    stubbed: list[tuple[Model, list[str]]] = []
    for model in models:
        missing = missing_sources(model, tables)
        if missing:
            stubbed.append((model, missing))
        body = view_sql(model, engine, zone=zone, tables=tables)
        try:
            create(model, body)
        except CallhouseError:
            raise  # already one line (a view of someone else's in the way)
        except Exception as exc:
            raise ViewBuildError(f"views: {model.where}: {one_line(exc, 400)}") from None
        built.append(model.qualified)
    return built, stubbed


def _build(con: Any, models: list[Model], zone: str) -> tuple[list[str], list[tuple[Model, list[str]]]]:
    """One transaction: the loaded ranges as committed now, then every view in build order."""
    con.execute("begin")
    try:
        now = current_time()
        for name in NAMES:  # also for a warehouse loaded before the ranges were kept
            record_loaded_ranges(con, name, now)
        tables = existing_tables(con)
        for layer in LAYERS:
            con.execute(f"create schema if not exists {layer}")
        wanted = {(m.schema, m.name) for m in models}
        for schema, name in con.execute(
            "select schema_name, view_name from duckdb_views() "
            "where not internal and database_name = current_database() and schema_name in (?, ?, ?)",
            list(LAYERS),
        ).fetchall():
            if (schema, name) not in wanted:
                con.execute(f'drop view "{schema}"."{name}"')
        built, stubbed = _create_views(
            lambda model, body: con.execute(f"create or replace view {model.qualified} as\n{body}"),
            "duckdb",
            models,
            zone,
            tables,
        )
        con.execute("commit")
    except BaseException:
        try:
            con.execute("rollback")
        except duckdb.Error:
            pass  # a commit that failed has ended the transaction already
        raise
    return built, stubbed


def _build_postgres(
    warehouse: Any, models: list[Model], zone: str, readers: tuple[str, ...]
) -> tuple[list[str], list[tuple[Model, list[str]]]]:
    """The views in PostgreSQL itself (analysts' tools query them there), in one transaction with
    the readers' grants.

    Each view is replaced in place, so grants and views of others on ours stay; one PostgreSQL
    cannot change in place is dropped first (warehouse/postgres_views.py: never with CASCADE, a
    view of someone else's that reads it stops the build with one line instead of vanishing).
    """
    con = warehouse.connect()  # the loaded ranges: bookkeeping, through the DuckDB session
    try:
        now = current_time()
        for name in NAMES:
            record_loaded_ranges(con, name, now)
    finally:
        con.close()
    session = warehouse.native()
    try:
        with session, session.cursor() as cursor:  # commits at the end, rolls back on an error
            try:
                cursor.execute("select timezone(%s, now())", [zone])
            except Exception:
                raise _bad_zone(zone) from None
            if readers:
                check_roles(cursor, readers, warehouse.describe())
            cursor.execute("select lower(table_schema), lower(table_name) from information_schema.tables")
            tables = {(s, n) for s, n in cursor.fetchall()}
            cursor.execute(
                "select table_schema, table_name from information_schema.views where table_schema = any(%s)", [list(LAYERS)]
            )
            ours = {(m.schema, m.name) for m in models}
            for schema, name in [v for v in cursor.fetchall() if v not in ours]:
                drop_view(cursor, schema, name, ours, f"cannot drop {schema}.{name} (no longer in sql/)")
            for layer in LAYERS:
                cursor.execute(f"create schema if not exists {layer}")
            built, stubbed = _create_views(
                lambda model, body: replace_view(cursor, model.schema, model.name, body, ours), "postgres", models, zone, tables
            )
            if readers:
                grant_views(cursor, readers, LAYERS, built)
    finally:
        session.close()
    return built, stubbed


def build_views(warehouse: Warehouse, out: TextIO, sql_dir: Path | None = None) -> list[str]:
    """(Re)create every view from sql/ in one transaction: all build, or none changes."""
    models = load_models(sql_dir)
    settings = reporting_settings()
    zone, readers = settings.timezone, settings.reader_roles()
    granted = False
    with warehouse.writer_lock("views"):
        if warehouse.engine == "postgres":
            built, stubbed = _build_postgres(warehouse, models, zone, readers)
            granted = bool(readers)
        else:
            con = warehouse.connect()
            try:
                _check_timezone(con, zone)
                if readers and getattr(warehouse, "is_postgres", False):
                    # The catalog's grants hold for every later view build and load: granted
                    # first, so a missing role stops the build before anything changes.
                    grant_catalog(warehouse.catalog, LAKE_NAME, readers, warehouse.describe())
                    granted = True
                # On a DuckLake another process may commit first (a load, another build): build again.
                built, stubbed = retry_on_conflict(lambda: _build(con, models, zone))
            finally:
                con.close()
    for model, missing in stubbed:
        out.write(f"views: {model.qualified} is empty: {', '.join(missing)} not loaded yet\n")
    if granted:
        out.write(f"views: {', '.join(readers)} may read them ({setting_name('reporting', 'readers')})\n")
    elif readers:
        out.write(
            f"views: {setting_name('reporting', 'readers')} has nothing to grant on {warehouse.describe()} (it has no "
            "roles): readers need read access to its files (docs/shared-warehouse.md)\n"
        )
    out.write(f"views: built {len(built)} views (staging, intermediate, reporting); timezone {zone}\n")
    out.flush()
    return built
