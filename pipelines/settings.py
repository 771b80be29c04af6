"""Typed settings outside the sources: the warehouse, the data checks and the reporting views.

Each is a dlt configspec, so it is read like every other dlt setting (`.dlt/config.toml`, then
`.dlt/secrets.toml`, environment variables first: `[warehouse] load_threads` is
`WAREHOUSE__LOAD_THREADS`). A value that does not fit is a usage error (exit 2) naming the
setting. The sources' own settings are configspecs too: `WindowedSourceSettings`
(pipelines/sources/windowed.py) and each vendor's class extending it.
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from typing import TypeVar
from urllib.parse import urlsplit

from dlt.common.configuration import configspec
from dlt.common.configuration.exceptions import ConfigurationValueError, ConfigValueCannotBeCoercedException
from dlt.common.configuration.resolve import resolve_configuration
from dlt.common.configuration.specs import BaseConfiguration

from pipelines.errors import UsageError

_MEMORY_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


# --- defaults: the one place each shared default is written ---------------------------------
# A vendor's own defaults (its lookback, window, page size, pacing) are its package's
# (pipelines/sources/<vendor>/settings.py). docs/configuration.md lists both; .dlt/config.toml
# only shows them commented out, so it never overrides a default changed here.

DEFAULT_DESTINATION = "duckdb"
DEFAULT_TIMEZONE = "UTC"
# The first nightly run of a source without START_DATE starts this many days back.
DEFAULT_START_DAYS_BACK = 30
# Tries after the first for a request that may pass (pipelines/fetch/retry.py).
DEFAULT_MAX_RETRIES = 8
# An extract is committed (loaded) after this many rows or seconds, at a window boundary.
DEFAULT_CHECKPOINT_ROWS = 250_000
DEFAULT_CHECKPOINT_SECONDS = 300.0
# `callhouse check`'s freshness limits when neither the settings nor sql/sources.yml give any.
DEFAULT_WARN_AFTER, DEFAULT_ERROR_AFTER = "26h", "50h"
# How long a view build or load waits on a lock another session holds (an analyst's open
# transaction on a view) before it gives up with one line (PostgreSQL's lock_timeout).
DEFAULT_LOCK_TIMEOUT_S = 60.0


def setting_name(*path: str) -> str:
    """The environment-variable form users set: ("sources", "cinnox", "window") -> SOURCES__CINNOX__WINDOW."""
    return "__".join(part.upper() for part in path)


@configspec
class WarehouseSettings(BaseConfiguration):
    # Where the warehouse is: `duckdb` (one file, --warehouse), `ducklake` (catalog and data path
    # from dlt's DESTINATION__DUCKLAKE__CREDENTIALS__CATALOG / __STORAGE) or `postgres`
    # (dlt's DESTINATION__POSTGRES__CREDENTIALS).
    destination: str = DEFAULT_DESTINATION
    # DuckDB's memory while loading (DuckDB syntax: 512MB, 2GB). Its own default, 80% of RAM, lets
    # the block cache grow with the warehouse. 128MB: the backfill's peak ~150 MB below 256MB's at
    # 190k calls for no more CPU (bench/README.md), on the way to a 1 GB VM's 300 MB. Larger
    # merges spill to a temp folder beside the warehouse.
    load_memory_limit: str = "128MB"
    # DuckDB threads while loading; default all cores but one, which the fetch thread
    # (extract/lookahead.py) uses meanwhile: on 2 cores 1 thread measured ~4% faster than 2.
    load_threads: int | None = None
    # Seconds a view build or load on PostgreSQL (or a DuckLake's PostgreSQL catalog) waits on a
    # lock another session holds before it stops, exit 1, with nothing half-built.
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S

    def threads(self) -> int:
        return self.load_threads or max(1, len(os.sched_getaffinity(0)) - 1)


@configspec
class FreshnessSettings(BaseConfiguration):
    # Resolved per source in section checks.freshness.<source>, falling back to checks.freshness:
    # CHECKS__FRESHNESS__GENESYS__ERROR_AFTER=3d, CHECKS__FRESHNESS__WARN_AFTER=30h. Unset: the
    # limits declared in sql/sources.yml, else DEFAULT_WARN_AFTER / DEFAULT_ERROR_AFTER.
    warn_after: str | None = None
    error_after: str | None = None


@configspec
class ReportingSettings(BaseConfiguration):
    # IANA zone of the day and hour buckets in the views.
    timezone: str = DEFAULT_TIMEZONE
    # Roles that read the views (`analyst,metabase`, like dbt's `grants`): every build grants
    # them USAGE on the view schemas and SELECT on every view (PostgreSQL, or a DuckLake's
    # PostgreSQL catalog). A TOML list works too.
    readers: str | list[str] | None = None

    def reader_roles(self) -> tuple[str, ...]:
        names = self.readers.split(",") if isinstance(self.readers, str) else self.readers or []
        return tuple(dict.fromkeys(str(name).strip() for name in names if str(name).strip()))


# Every whole-number setting here counts something (threads, rows, pages): none may be below 1.
_KINDS: dict[object, str] = {
    int: "positive whole number",
    int | None: "positive whole number",
    float: "number",
    bool: "boolean (true/false)",
}

TSettings = TypeVar("TSettings", bound=BaseConfiguration)


def wrong_type(name: str, exc: ConfigValueCannotBeCoercedException) -> UsageError:
    """A setting dlt could not coerce to its declared type, as one line naming it."""
    return UsageError(f"{name}: {exc.field_value!r} is not a {_KINDS.get(exc.hint, getattr(exc.hint, '__name__', exc.hint))}")


def resolve(settings: TSettings, *sections: str) -> TSettings:
    """The settings as dlt resolves them; a value of the wrong type is one line naming the setting."""
    try:
        return resolve_configuration(settings, sections=sections)
    except ConfigValueCannotBeCoercedException as exc:
        raise wrong_type(setting_name(*sections, exc.field_name), exc) from None
    except ConfigurationValueError as exc:
        raise UsageError(f"{'.'.join(sections)}: {exc}") from None


DESTINATIONS = ("duckdb", "ducklake", "postgres")


def warehouse_settings() -> WarehouseSettings:
    settings = resolve(WarehouseSettings(), "warehouse")
    settings.destination = str(settings.destination or DEFAULT_DESTINATION).strip().lower()
    if settings.destination not in DESTINATIONS:
        raise UsageError(
            f"{setting_name('warehouse', 'destination')}: {settings.destination!r} is not a warehouse callhouse loads "
            f"(one of {', '.join(DESTINATIONS)})"
        )
    if not _MEMORY_SIZE.match(str(settings.load_memory_limit)):
        raise UsageError(
            f"{setting_name('warehouse', 'load_memory_limit')}: {settings.load_memory_limit!r} is not a memory size "
            "(write e.g. 256MB or 2GB)"
        )
    if settings.load_threads is not None and settings.load_threads < 1:
        raise UsageError(f"{setting_name('warehouse', 'load_threads')}: {settings.load_threads!r} is not a positive whole number")
    if not (math.isfinite(settings.lock_timeout_s) and settings.lock_timeout_s > 0):
        raise UsageError(
            f"{setting_name('warehouse', 'lock_timeout_s')}: {settings.lock_timeout_s!r} is not a positive number of seconds"
        )
    return settings


def freshness_settings(source: str) -> FreshnessSettings:
    return resolve(FreshnessSettings(), "checks", "freshness", source)


def reporting_settings() -> ReportingSettings:
    settings = resolve(ReportingSettings(), "reporting")
    settings.timezone = str(settings.timezone or "").strip() or DEFAULT_TIMEZONE
    return settings


# A setting as dlt gives it: its declared type, or the text of an environment variable it could
# not coerce.
SettingValue = str | int | float | None


# --- single values, checked before any request: one line naming the setting, never a loop, a
# silent clamp or a request the vendor refuses nine times ---------------------------------------


def whole_number(value: SettingValue, name: str, low: int = 1, high: int | None = None) -> int:
    """An integer in [low, high]."""
    try:
        number = None if value is None else int(value)
    except (TypeError, ValueError):
        number = None
    if (
        number is None
        or isinstance(value, float)
        and not value.is_integer()
        or number < low
        or (high is not None and number > high)
    ):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise UsageError(f"{name}: {value!r} is not a whole number {bounds}")
    return number


def rate(value: SettingValue, name: str) -> float | None:
    """Requests per second or minute: a positive number, or 0 / empty for no client-side pacing."""
    if value in (None, "", 0, "0"):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise UsageError(f"{name}: {value!r} is not a rate (a positive number, or 0 for no pacing)")
    return number or None


def base_url(value: object, name: str) -> str:
    """An absolute http(s) URL: a host alone would fail every request only after all retries."""
    text = str(value or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"{name}: {text!r} is not an http(s) URL (write e.g. https://api.example.com)")
    return text


def credential(value: object, name: str) -> str:
    """A secret as configured: not empty, and free of control characters (a `.env` saved on
    Windows leaves a `\\r`, which httpx would print back in its error). Never shown."""
    text = "" if value is None else str(value)
    if not text.strip():
        raise UsageError(f"{name}: is empty")
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise UsageError(f"{name}: contains a control character (a stray \\r or \\n?): fix the value where it is set")
    return text
