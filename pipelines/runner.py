"""Runs sources into the warehouse: one dlt pipeline and dataset per source, loaded in checkpoints.

Order of a source run: finish packages a crash left behind, then extract/normalize/load until the
plan's windows are all done (each `pipeline.run` ends at a checkpoint), repairing what dlt's merge
leaves after each load: duplicate keys and child rows a re-delivered parent dropped (after_load.py).
"""
from __future__ import annotations

import importlib
import os
import time
import uuid
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import dlt
import duckdb
import pendulum
from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.common.versioned_state import decompress_state

from pipelines.after_load import repair, repair_latest_load
from pipelines.errors import CallhouseError, ConfigMissing, UsageError, WarehouseBusy
from pipelines.load_state import STATE_KEY, LoadRequest, plan_finished
from pipelines.lookahead import Lookahead
from pipelines.progress import Progress, RunStats
from pipelines.warehouse import Warehouse, record_run

SOURCE_NAMES = ("cinnox", "bandwidth", "genesys")

# Arrow pages skip dlt's normalizer, so ask it to stamp `_dlt_load_id` on them: orphan removal
# and "only committed loads" views rely on it.
os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")
# Loaded packages are in the warehouse; keeping their files too only grows the disk every night.
os.environ.setdefault("LOAD__DELETE_COMPLETED_JOBS", "true")
# Parquet files only carry a package from extract to DuckDB and are deleted once loaded: not
# compressing them measured the same speed and ~120 MB less peak memory on 1M calls.
os.environ.setdefault("DATA_WRITER__COMPRESSION", "none")


def source_module(name: str) -> ModuleType:
    if name not in SOURCE_NAMES:
        raise UsageError(f"unknown source {name!r} (choose from {', '.join(SOURCE_NAMES)})")
    try:
        return importlib.import_module(f"pipelines.sources.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"pipelines.sources.{name}":
            raise UsageError(f"{name}: not implemented yet") from None
        raise


def open_pipeline(name: str, warehouse: Warehouse) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=f"callhouse_{name}",
        destination=dlt.destinations.duckdb(warehouse.loader_credentials()),
        dataset_name=name,
        pipelines_dir=str(warehouse.pipelines_dir),
        progress=None,
    )


def build_source(name: str, request: LoadRequest, stats: RunStats, progress: Progress, **overrides: Any) -> Any:
    """The vendor's dlt source with config injected by dlt; a missing setting is one clear line."""
    module = source_module(name)
    try:
        return getattr(module, name)(request, stats, progress, **overrides)
    except ConfigFieldMissingException as exc:
        raise ConfigMissing(name, [f"SOURCES__{name.upper()}__{f.upper()}" for f in exc.fields]) from None


def missing_settings(name: str) -> list[str]:
    """The settings a source still needs (empty when it is configured)."""
    try:
        build_source(name, LoadRequest("nightly", pendulum.now("UTC")), RunStats(name), Progress(quiet=True))
        return []
    except ConfigMissing as exc:
        return exc.settings


@dataclass
class SourceRun:
    name: str
    stats: RunStats
    outcome: str = "ok"
    message: str = ""
    load_ids: list[str] = field(default_factory=list)


def run_source(name: str, request: LoadRequest, warehouse: Warehouse, progress: Progress, command: str) -> SourceRun:
    stats = RunStats(name)
    result = SourceRun(name, stats)
    started = pendulum.now("UTC")
    module = source_module(name)
    # Sources whose fetching keeps no dlt state fetch the next checkpoint while this one loads.
    lookahead = Lookahead() if getattr(module, "FETCH_AHEAD", False) else None
    try:
        build_source(name, request, stats, Progress(quiet=True))  # configuration errors before any work
        pipeline = open_pipeline(name, warehouse)
        finish_pending(pipeline, module, result)
        _load_until_done(pipeline, module, request, stats, progress, result, lookahead)
    except Exception as exc:
        result.outcome = "failed"
        result.message = str(root_error(exc))
        raise
    finally:
        if lookahead is not None:
            lookahead.close()
        progress.finish_live()
        _log_run(warehouse, result, command, started, request.run_id)
    return result


def _load_until_done(pipeline: dlt.Pipeline, module: ModuleType, request: LoadRequest, stats: RunStats,
                     progress: Progress, result: SourceRun, lookahead: Lookahead | None) -> None:
    overrides = {"lookahead": lookahead} if lookahead is not None else {}
    while True:
        before = stats.windows_done
        source = build_source(module.NAME, request, stats, progress, **overrides)
        info = pipeline.run(source, loader_file_format="parquet")
        result.load_ids.extend(info.loads_ids)
        repair(pipeline, module, info.loads_ids)
        state = pipeline.state.get("sources", {}).get(module.NAME, {}).get(STATE_KEY, {})
        if plan_finished(state, request):
            return
        if stats.windows_done == before:
            raise CallhouseError(f"{module.NAME}: no window finished in a checkpoint; stopping to avoid a loop")


def finish_pending(pipeline: dlt.Pipeline, module: ModuleType, result: SourceRun) -> None:
    """Load what a crashed run left behind before extracting anew (dlt would otherwise ignore
    the new data and only finish the old packages)."""
    _drop_half_committed_extracts(pipeline)
    # A crash between a load's commit and its repair leaves that repair to this run.
    repair_latest_load(pipeline, module)
    if not pipeline.has_pending_data:
        return
    pipeline.normalize()
    info = pipeline.load()
    load_ids = list(info.loads_ids) if info else []  # None when normalize found nothing to load
    result.load_ids.extend(load_ids)
    result.stats.notices.append(f"finished {len(load_ids)} load package(s) left by an interrupted run")
    repair(pipeline, module, load_ids)


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


def _log_run(warehouse: Warehouse, result: SourceRun, command: str, started: pendulum.DateTime, run_id: str) -> None:
    stats = result.stats
    try:
        con = warehouse.connect()
    except CallhouseError:
        return  # the run's own error says why; the log is best effort
    try:
        record_run(con, {
            "run_id": run_id,
            "source": result.name,
            "command": command,
            "started_at": started,
            "finished_at": pendulum.now("UTC"),
            "outcome": result.outcome,
            "rows": stats.total_rows,
            "requests": stats.requests,
            "throttled": stats.throttled,
            "retries": stats.retries,
            "quarantined": stats.quarantined,
            "truncated_windows": len(stats.truncated),
            "message": result.message,
            "details": {"rows_by_table": dict(stats.rows), "windows": stats.windows_done, "pages": stats.pages,
                        "notices": stats.notices, "load_ids": result.load_ids},
        })
    finally:
        con.close()


def root_error(exc: BaseException) -> BaseException:
    """The error that explains a failure: dlt wraps ours in PipelineStepFailed and friends."""
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, CallhouseError):
            return current
        if isinstance(current, duckdb.IOException) and "lock" in str(current).lower():
            return WarehouseBusy(f"the warehouse is open in another process: close that session and retry ({str(current).splitlines()[0][:160]})")
        seen.add(id(current))
        current = current.__cause__ or current.__context__ or getattr(current, "exception", None)
    return exc


def new_run_id() -> str:
    return f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"


def read_source_state(con: Any, name: str) -> dict[str, Any]:
    """The newest committed dlt state of a source, read from the warehouse (read-only is enough)."""
    try:
        row = con.execute(
            f'select state from "{name}"._dlt_pipeline_state where pipeline_name = ? order by version desc limit 1',
            [f"callhouse_{name}"],
        ).fetchone()
    except Exception:
        return {}
    if not row:
        return {}
    state = decompress_state(row[0])
    return state.get("sources", {}).get(name, {}).get(STATE_KEY, {})
