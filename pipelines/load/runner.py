"""Runs sources into the warehouse: one dlt pipeline and dataset per source, loaded in checkpoints.

Order of a source run: finish packages a crash left behind, then extract/normalize/load until the
plan's windows are all done (each `pipeline.run` ends at a checkpoint). Each load package is
published in one transaction with its repairs and loaded ranges (warehouse/publish.py): nothing
is left to do after a load commits.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import dlt
import duckdb
import pendulum
from dlt.common.configuration.exceptions import ConfigFieldMissingException, ConfigValueCannotBeCoercedException
from dlt.common.configuration.inject import get_fun_spec
from dlt.common.configuration.resolve import resolve_configuration
from dlt.common.exceptions import SignalReceivedException
from dlt.sources import DltSource

from pipelines.errors import CallhouseError, ConfigMissing, one_line, root_error
from pipelines.extract.context import RunContext
from pipelines.extract.ledger import STATE_KEY, LoadRequest, plan_finished
from pipelines.extract.lookahead import MEMORY_ROWS, Lookahead
from pipelines.extract.progress import Progress
from pipelines.extract.run_stats import RunStats
from pipelines.load.scrub import scrub_working_files
from pipelines.load.set_aside import set_aside
from pipelines.privacy.pseudonyms import batch_pseudonymizer, configured_pseudonyms
from pipelines.settings import wrong_type
from pipelines.sources.vendor import Vendor
from pipelines.warehouse.kind import Warehouse
from pipelines.warehouse.repairs import repair_latest_load
from pipelines.warehouse.run_log import end_dead_runs, record_run

# dlt settings callhouse depends on, applied before a pipeline is made. Set as defaults in the
# environment (dlt's first provider), so a user's own value of the same key still wins.
DLT_DEFAULTS = {
    # dlt logs schema-merge chatter at WARNING on every Arrow load, and a failed job as an ERROR
    # with its traceback (a full disk: ten of them); users see our one line per source instead,
    # and `--debug` shows dlt's log from WARNING up.
    "RUNTIME__LOG_LEVEL": "CRITICAL",
    # Arrow pages skip dlt's normalizer, so ask it to stamp `_dlt_load_id` on them: orphan removal
    # and "only committed loads" views rely on it.
    "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID": "true",
    # Loaded packages are in the warehouse; keeping their files too only grows the disk every night.
    "LOAD__DELETE_COMPLETED_JOBS": "true",
    # Parquet files only carry a package from extract to DuckDB and are deleted once loaded: not
    # compressing them measured the same speed and ~120 MB less peak memory on 1M calls.
    "DATA_WRITER__COMPRESSION": "none",
    # One load job at a time (dlt's default: up to 20 threads, i.e. every table's file at once, each
    # a DuckDB query of its own under the one memory limit): the 190k backfill's peak 519 -> 415 MB
    # for the same CPU (bench/README.md); the loading DuckDB has one thread anyway.
    "LOAD__WORKERS": "1",
}


def apply_dlt_defaults() -> None:
    for key, value in DLT_DEFAULTS.items():
        os.environ.setdefault(key, value)


def open_pipeline(vendor: Vendor, warehouse: Warehouse, connection: duckdb.DuckDBPyConnection) -> dlt.Pipeline:
    """The source's pipeline into the warehouse (a DuckDB file: through the command's one connection)."""
    apply_dlt_defaults()
    return dlt.pipeline(
        pipeline_name=vendor.pipeline_name,
        destination=warehouse.destination(connection),
        dataset_name=vendor.name,
        pipelines_dir=str(warehouse.pipelines_dir),
    )  # and no progress collector: Progress shows ours


def missing_settings(vendor: Vendor) -> list[str]:
    """The settings a source still needs (empty when it is configured), resolved by dlt from the
    source function's signature: nothing is built and no client is opened."""
    try:
        resolve_configuration(get_fun_spec(vendor.source)(), sections=("sources", vendor.name, vendor.name))
    except ConfigFieldMissingException as exc:
        return [vendor.setting(f) for f in exc.fields]
    except ConfigValueCannotBeCoercedException:
        return []  # present, but of the wrong type: build_source says so
    return []


def build_source(vendor: Vendor, run: RunContext, **settings: object) -> DltSource:
    """The vendor's dlt source with its settings injected by dlt (`settings` given here win); a
    bad setting is one clear line."""
    try:
        source: DltSource = vendor.source(run, **settings)
        return source
    except ConfigFieldMissingException as exc:
        raise ConfigMissing(vendor.name, [vendor.setting(f) for f in exc.fields]) from None
    except ConfigValueCannotBeCoercedException as exc:
        raise wrong_type(vendor.setting(exc.field_name), exc) from None


@dataclass
class SourceRun:
    name: str
    stats: RunStats
    outcome: str = "ok"
    message: str = ""
    load_ids: list[str] = field(default_factory=list)


def run_source(
    vendor: Vendor,
    request: LoadRequest,
    warehouse: Warehouse,
    connection: duckdb.DuckDBPyConnection,
    progress: Progress,
    command: str,
) -> SourceRun:
    stats = RunStats(vendor.name)
    result = SourceRun(vendor.name, stats)
    started = pendulum.now("UTC")
    # Sources whose fetching keeps no dlt state fetch the next checkpoint while this one loads.
    pseudonyms = configured_pseudonyms()
    run = RunContext(
        request,
        stats,
        progress,
        # Pages wait on disk before they are pseudonymized (WindowWalk._mark): not with pseudonyms on.
        Lookahead(memory_rows=None if pseudonyms else MEMORY_ROWS) if vendor.fetches_ahead else None,
        pseudonymize=batch_pseudonymizer(pseudonyms, vendor.personal_data) if pseudonyms else None,
    )
    end_dead_runs(connection, vendor.name, started)  # runs of this source that died before logging their end
    result.outcome = "running"  # what the log says if this process is killed before the end
    _log_run(connection, result, command, started, request.run_id, finished=False)
    result.outcome = "ok"
    pipeline: dlt.Pipeline | None = None
    try:
        source = build_source(vendor, run)  # configuration errors before any work
        pipeline = open_pipeline(vendor, warehouse, connection)
        finish_pending(pipeline, vendor, result, warehouse.row_id)
        _load_until_done(pipeline, vendor, run, result, source)
    except BaseException as exc:
        interrupted = isinstance(root_error(exc), KeyboardInterrupt | SignalReceivedException)
        # A package no retry can load is set aside, so it blocks no later run (set_aside.py).
        aside = None if interrupted or pipeline is None else set_aside(pipeline, vendor.name, exc, request)
        result.outcome = "interrupted" if interrupted else "failed"
        # One line: a library's message can hold a traceback or a statement (`status` shows it).
        result.message = "interrupted (Ctrl-C or SIGTERM)" if interrupted else one_line(aside or root_error(exc), 1000)
        if aside is not None:
            raise aside from None
        raise
    finally:
        if run.lookahead is not None:
            run.lookahead.close()
        progress.finish_live()
        # First: an outage that failed this run may fail the bookkeeping below too.
        scrub_working_files(warehouse.pipelines_dir / vendor.pipeline_name)
        stats.quarantined = _quarantined(warehouse, connection, vendor, result.load_ids)
        _log_run(connection, result, command, started, request.run_id, scrub=pseudonyms.scrub_text if pseudonyms else None)
    return result


def _load_until_done(
    pipeline: dlt.Pipeline,
    vendor: Vendor,
    run: RunContext,
    result: SourceRun,
    source: DltSource,
) -> None:
    """One `pipeline.run` per checkpoint (a fresh source each: a dlt source is iterated once)."""
    while True:
        before = run.stats.windows_done
        info = pipeline.run(source, loader_file_format="parquet")
        result.load_ids.extend(info.loads_ids)
        state = pipeline.state.get("sources", {}).get(vendor.name, {}).get(STATE_KEY, {})
        if plan_finished(state, run.request):
            return
        if run.stats.windows_done == before:
            raise CallhouseError(f"{vendor.name}: no window finished in a checkpoint; stopping to avoid a loop")
        source = build_source(vendor, run)


def finish_pending(pipeline: dlt.Pipeline, vendor: Vendor, result: SourceRun, row_id: str) -> None:
    """Load what a crashed run left behind before extracting anew (dlt would otherwise ignore
    the new data and only finish the old packages)."""
    _drop_half_committed_extracts(pipeline)
    # A load an earlier version committed may still wait for its repair (this one repairs before
    # the commit: warehouse/publish.py).
    repair_latest_load(pipeline, vendor, row_id)
    if not pipeline.has_pending_data:
        return
    pipeline.normalize()
    info = pipeline.load()
    load_ids = list(info.loads_ids) if info else []  # None when normalize found nothing to load
    result.load_ids.extend(load_ids)
    result.stats.notices.append(f"finished {len(load_ids)} load package(s) left by an interrupted run")


def _drop_half_committed_extracts(pipeline: dlt.Pipeline) -> None:
    """Delete extracted packages that normalize already committed.

    dlt commits a normalized package by renaming it into place and only then deletes the
    extracted copy; a SIGKILL between the two leaves both, and normalizing the copy again fails
    ("Directory not empty"). The rename is atomic, so the committed package is complete.
    """
    try:
        load_storage = pipeline._get_load_storage()
        committed = set(load_storage.list_normalized_packages()) | set(load_storage.list_loaded_packages())
        extracted = pipeline._get_normalize_storage().extracted_packages
        pending = extracted.list_packages()
    except FileNotFoundError:
        return  # a pipeline that never ran has no storage yet
    for load_id in pending:
        if load_id in committed:
            extracted.delete_package(load_id)


def _quarantined(warehouse: Warehouse, con: duckdb.DuckDBPyConnection, vendor: Vendor, load_ids: list[str]) -> int:
    """Records this run quarantined, as committed (the count of extracted ones includes records
    quarantined again on a re-read, which the table keeps once)."""
    if not load_ids:
        return 0
    warehouse.see_new_tables(con)  # a first load's quarantine table was created by dlt's session
    try:
        placeholders = ", ".join("?" * len(load_ids))
        (count,) = con.execute(
            f'select count(*) from "{vendor.name}".quarantine where _dlt_load_id in ({placeholders})', load_ids
        ).fetchall()[0]
        return int(count)
    except duckdb.CatalogException:
        return 0  # no quarantine table: nothing was ever quarantined


def _log_run(
    con: duckdb.DuckDBPyConnection,
    result: SourceRun,
    command: str,
    started: pendulum.DateTime,
    run_id: str,
    finished: bool = True,
    scrub: Callable[[str], str] | None = None,
) -> None:
    """Every run goes in the log, failed or interrupted too: the command's connection is open.
    `scrub` pseudonymizes numbers and addresses an error or notice may quote (privacy/)."""
    stats = result.stats
    scrub = scrub or (lambda text: text)
    record_run(
        con,
        {
            "run_id": run_id,
            "source": result.name,
            "command": command,
            "started_at": started,
            "finished_at": pendulum.now("UTC") if finished else None,
            "outcome": result.outcome,
            "rows": stats.total_rows,
            "requests": stats.requests,
            "throttled": stats.throttled,
            "retries": stats.retries,
            "quarantined": stats.quarantined,
            "truncated_windows": len(stats.truncated),
            "message": scrub(result.message),
            "details": {
                "rows_by_table": dict(stats.rows),
                "windows": stats.windows_done,
                "pages": stats.pages,
                "notices": [scrub(n) for n in stats.notices],
                "load_ids": result.load_ids,
            },
        },
    )


def new_run_id() -> str:
    return f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
