"""Builds `sql/` into the warehouse as views, all or none (models/project.py reads the files).

Three things are not plain files:
- `staging.reporting_settings` (one row: `timezone`) is written from the dlt setting
  `reporting.timezone` (`REPORTING__TIMEZONE`, default UTC); day and hour buckets join to it.
- `callhouse.loaded_ranges`, which `staging.loaded_ranges` reads, is rewritten from each source's
  committed ledger by every build (loads also write it after every checkpoint).
- A staging view whose raw table is not loaded yet is built over no rows, typed from the
  `data_type` of the columns its YAML declares, so every later view builds for any set of sources.

The SQL of each view (the file, the settings row, a stub) comes from `models/dialects.py`, which
spells it for DuckDB or PostgreSQL; this module builds it through the warehouse's view session
(warehouse/kind.py), which runs it in the engine the views live in. On PostgreSQL each
view is replaced in place where it can be (warehouse/postgres_views.py), so views of others on
ours survive; the roles of `REPORTING__READERS` are granted read access at every build
(warehouse/grants.py, through the view session and the warehouse).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import duckdb

from pipelines.errors import CallhouseError, UsageError, one_line
from pipelines.fetch.windows import now as current_time
from pipelines.models.dialects import missing_sources, view_sql
from pipelines.models.project import LAYERS, Model, ViewBuildError, load_models
from pipelines.settings import reporting_settings, setting_name
from pipelines.warehouse.kind import ViewSession, Warehouse

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


def _check_timezone(con: duckdb.DuckDBPyConnection, zone: str) -> None:
    try:
        con.execute("select timezone(?, timestamptz '2000-01-01 00:00:00+00')", [zone]).fetchone()
    except Exception:
        raise _bad_zone(zone) from None


# --- building ---------------------------------------------------------------------------------


def _create_views(
    create: Callable[[Model, str], object], engine: str, models: list[Model], zone: str, tables: set[tuple[str, str]]
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


def _build(
    session: ViewSession, models: list[Model], zone: str, readers: tuple[str, ...]
) -> tuple[list[str], list[tuple[Model, list[str]]], bool]:
    """Inside the warehouse's view transaction: the loaded ranges as committed now, then every
    view in build order (the session does what its engine needs to replace them), then the
    readers' grants. Returns the views built, those built as stubs, and whether it granted."""
    session.record_loaded_ranges(current_time())
    if not session.knows_timezone(zone):
        raise _bad_zone(zone)
    if readers:
        session.check_readers(readers)  # a missing role stops the build before anything changes
    tables = session.tables()
    for layer in LAYERS:
        session.create_schema(layer)
    session.clear_views(LAYERS, [(m.schema, m.name) for m in models])
    built, stubbed = _create_views(
        lambda model, body: session.create_view(model.schema, model.name, body), session.engine, models, zone, tables
    )
    granted = bool(readers) and session.grant_readers(readers, LAYERS, built)
    return built, stubbed, granted


def build_views(warehouse: Warehouse, out: TextIO, sql_dir: Path | None = None) -> list[str]:
    """(Re)create every view from sql/ in one transaction: all build, or none changes."""
    models = load_models(sql_dir)
    settings = reporting_settings()
    zone, readers = settings.timezone, settings.reader_roles()
    with warehouse.writer_lock("views"):
        # A DuckLake's catalog grants hold for every later build and load: granted first, so a
        # missing role stops the build before anything changes.
        granted = bool(readers) and warehouse.grant_catalog_readers(readers)
        built, stubbed, granted_views = warehouse.in_view_transaction(lambda session: _build(session, models, zone, readers))
        granted = granted or granted_views
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
