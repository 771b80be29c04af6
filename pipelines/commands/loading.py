"""`callhouse run` and `callhouse backfill`: load the chosen sources, one line per source.

`nightly` and `load_range` do the work, writing what happened into a CommandResult (which
`pipelines.api` returns to Python callers); `run` and `backfill` are the commands: they also post
the result to the alert webhook (notify/webhook.py) and turn it into an exit code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from dlt.common.exceptions import SignalReceivedException
from dlt.common.runtime import signals

from pipelines.commands.alerted import alerted
from pipelines.commands.checks import run_data_tests
from pipelines.commands.maintain import maintain_if_due
from pipelines.commands.outcome import CommandResult, SourceResult
from pipelines.commands.purge import purge_sources, refuse_backfill_into_purged, retention_cuts
from pipelines.commands.views import rebuild_views
from pipelines.errors import MachineFailure, UsageError, one_line, root_error
from pipelines.extract.ledger import LoadRequest
from pipelines.extract.progress import Progress
from pipelines.fetch.windows import now, parse_instant
from pipelines.load.runner import SourceRun, apply_dlt_defaults, missing_settings, new_run_id, run_source
from pipelines.models.views import check_timezone
from pipelines.privacy.pseudonyms import configured_pseudonyms
from pipelines.sources.registry import NAMES, VENDORS, vendor
from pipelines.sources.vendor import Vendor
from pipelines.warehouse.choice import resolve_warehouse
from pipelines.warehouse.kind import Warehouse
from pipelines.warehouse.privacy_key import check_privacy_key


@dataclass(frozen=True)
class LoadOptions:
    warehouse: str | None = None  # --warehouse (default: $CALLHOUSE_WAREHOUSE or warehouse/calls.duckdb)
    sources: tuple[str, ...] = ()  # --source ... (empty: every configured source)
    wait_s: float = 0.0  # --wait: for another load of the same warehouse to finish
    debug: bool = False  # --debug: raise instead of one line per failed source
    check: bool = False  # run --check: the data tests after the views
    views: bool = True  # rebuild the views after a nightly load (Dagster builds them as an asset of their own)
    rotate_privacy_key: bool = False  # --rotate-privacy-key: accept a new PRIVACY__KEY (privacy_key.py)
    force: bool = False  # --force: backfill into a purged range (commands/purge.py)


def _dlt_settings(options: LoadOptions) -> None:
    """callhouse's dlt defaults, before anything resolves a dlt setting: the first resolution
    fixes dlt's log level for the process."""
    if options.debug:
        os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    apply_dlt_defaults()


def run(options: LoadOptions) -> int:
    """The nightly load up to now (or CALLHOUSE_NOW), then the views (then the data tests)."""
    _dlt_settings(options)
    return alerted("run --check" if options.check else "run", options.warehouse, lambda result: nightly(options, result))


def backfill(options: LoadOptions, start: str, end: str) -> int:
    _dlt_settings(options)
    command = f"backfill --start {start} --end {end}"
    return alerted(command, options.warehouse, lambda result: load_range(options, start, end, result))


def nightly(options: LoadOptions, result: CommandResult) -> None:
    _dlt_settings(options)
    check_timezone()  # the views built after the load need it: say so before loading anything
    request = LoadRequest("nightly", end=now(), run_id=new_run_id())
    result.end = request.end
    warehouse = resolve_warehouse(options.warehouse)
    _load(options, warehouse, request, result)
    cuts = retention_cuts(request.end)
    if cuts:  # retention: purge what is older than it, then the views see what is left
        for line in purge_sources(warehouse, cuts, "run (retention)"):
            Progress().line(line)
    if options.views and any(s.outcome == "ok" for s in result.sources):
        # The sources that loaded get their views even when another one failed (exit 1 still).
        rebuild_views(options.warehouse)
        result.views_built = True
    if options.check and result.views_built:
        run_data_tests(warehouse, result)
    if any(s.outcome == "ok" for s in result.sources):
        maintain_if_due(options.warehouse)  # DUCKLAKE__MAINTAIN_EVERY; nothing when unset


def load_range(options: LoadOptions, start: str, end: str, result: CommandResult) -> None:
    _dlt_settings(options)
    first, last = parse_instant(start, "--start"), parse_instant(end, "--end")
    if last <= first:
        raise UsageError(f"--end ({end}) must be after --start ({start})")
    warehouse = resolve_warehouse(options.warehouse)
    refuse_backfill_into_purged(warehouse, options.sources, first, options.force)
    request = LoadRequest("backfill", start=first, end=last, run_id=new_run_id())
    result.start, result.end = first, last
    _load(options, warehouse, request, result)


def _load(options: LoadOptions, warehouse: Warehouse, request: LoadRequest, result: CommandResult) -> None:
    """Loads each chosen source into `result.sources`; a usage error raises (exit 2)."""
    command = result.command
    progress = Progress()
    vendors = _chosen(options, progress, result)
    pseudonyms = configured_pseudonyms()  # a missing or short key is exit 2 before any work
    # dlt's own handling of Ctrl-C and SIGTERM, for the whole command: the first one sets a flag
    # that dlt and the window walk raise at their next safe point; a second one stops at once.
    with (
        signals.intercepted_signals(),
        warehouse.writer_lock(command, wait_s=options.wait_s),
        warehouse.loading_connection(options.wait_s) as connection,
    ):
        check_privacy_key(connection, pseudonyms, options.rotate_privacy_key)
        for chosen in vendors:
            try:
                with warehouse.source_lock(chosen.name, command, wait_s=options.wait_s):
                    loaded = run_source(chosen, request, warehouse, connection, progress, command)
            except Exception as exc:
                if options.debug:
                    raise
                error = root_error(exc)
                if isinstance(error, SignalReceivedException):
                    raise KeyboardInterrupt from None  # the whole command stops, not just this source
                if isinstance(error, UsageError):
                    raise error from None  # a setting to fix: exit 2, whichever step found it
                if isinstance(error, MachineFailure):
                    error = error.at(warehouse.folder)  # dlt's and Arrow's writes do not always say where
                message = one_line(error)
                message = message[len(chosen.name) + 2 :] if message.startswith(f"{chosen.name}: ") else message
                result.sources.append(SourceResult(chosen.name, "failed", message=message))
                progress.line(f"{chosen.name}: FAILED: {message}")
                continue
            result.sources.append(_source_result(loaded))
            progress.line(summary(loaded))
            signals.raise_if_signalled()  # between sources too


def _source_result(loaded: SourceRun) -> SourceResult:
    stats = loaded.stats
    rows = {table: n for table, n in sorted(stats.rows.items()) if table != "quarantine"}
    return SourceResult(loaded.name, "ok", rows, stats.windows_done, stats.quarantined)


def _chosen(options: LoadOptions, progress: Progress, result: CommandResult) -> list[Vendor]:
    """The named sources (each once, unknown ones a usage error), else every configured one."""
    if options.sources:
        return list({name: vendor(name) for name in options.sources}.values())
    missing = {v.name: missing_settings(v) for v in VENDORS}
    configured = [v for v in VENDORS if not missing[v.name]]
    if not configured:
        raise UsageError(f"no source is configured: set the SOURCES__<S>__... settings for one of {', '.join(NAMES)}")
    for name, settings in missing.items():
        if settings:
            result.sources.append(SourceResult(name, "skipped", message=f"no credentials configured (set {', '.join(settings)})"))
            progress.line(f"{name}: skipped, no credentials configured (set {', '.join(settings)})")
    return configured


def summary(result: SourceRun) -> str:
    stats = result.stats
    tables = ", ".join(f"{t} {n:,}" for t, n in sorted(stats.rows.items()) if t != "quarantine") or "no rows"
    parts = [
        f"{stats.windows_done} windows",
        f"{stats.pages} pages",
        f"{stats.requests} requests",
        f"{stats.throttled} throttled",
        f"{stats.retries} retried",
    ]
    line = f"{result.name}: ok, {tables}; " + ", ".join(parts)
    if stats.quarantined:
        line += f"; {stats.quarantined} quarantined (see {result.name}.quarantine)"
    if stats.truncated:
        line += f"; {len(stats.truncated)} windows TRUNCATED by the vendor cap"
    for notice in stats.notices:
        line += f"\n{result.name}: {notice}"
    return line
