"""`callhouse status`: per source, what was loaded, up to where, and what is missing."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, TextIO, TypedDict

import duckdb

from pipelines.errors import EXIT_OK, one_line
from pipelines.extract.ledger import STALE_OPEN_CALLS, coverage_gaps, coverage_until
from pipelines.fetch.windows import iso, parse_instant
from pipelines.fetch.windows import now as current_time
from pipelines.load.set_aside import SetAside
from pipelines.load.set_aside import listed as set_aside_packages
from pipelines.sources.registry import NAMES, vendor
from pipelines.warehouse.catalog import committed_ledger, committed_rows, count, schema_exists, table_names
from pipelines.warehouse.kind import Warehouse
from pipelines.warehouse.layout import OPS_SCHEMA
from pipelines.warehouse.purged_ranges import purged_before, without_purged
from pipelines.warehouse.run_log import LastRun, last_run
from pipelines.warehouse.view_builds import last_view_build


class SourceStatus(TypedDict):
    """One source in `callhouse status` (the report's data health reads it too)."""

    source: str
    cursor: str | None
    coverage: list[list[str]]
    gaps: list[list[str]]
    purged_before: datetime | None  # calls before it were deleted for retention (purged_ranges.py)
    truncated: list[list[str | int]]  # [start, end, rows]
    stale_open_calls: dict[str, str]  # id -> start
    unfinished_backfills: list[str]
    tables: dict[str, int]  # committed rows per table
    quarantine_since_loaded: int
    last_run: LastRun | None
    set_aside: list[SetAside]  # load packages set aside on this machine (load/set_aside.py)


def source_status(con: duckdb.DuckDBPyConnection, name: str, now: datetime) -> SourceStatus:
    """What is committed: rows of unfinished loads and coverage beyond `now` are not shown."""
    state = committed_ledger(con, name)
    purged = purged_before(con, name)
    coverage = without_purged(coverage_until(state.get("coverage", []), now), purged)
    status: SourceStatus = {
        "source": name,
        "cursor": state.get("cursor"),
        "coverage": coverage,
        "gaps": coverage_gaps(coverage),
        "purged_before": purged,
        "truncated": state.get("truncated", []),
        "stale_open_calls": state.get(STALE_OPEN_CALLS) or {},
        "unfinished_backfills": [
            key.split(":", 1)[1]
            for key, plan in state.get("plans", {}).items()
            if key.startswith("backfill:") and not plan["finished"]
        ],
        "tables": {},
        "quarantine_since_loaded": 0,
        "last_run": None,
        "set_aside": [],
    }
    if schema_exists(con, name):
        tables = table_names(con, name)
        for table in tables:
            if not table.startswith("_dlt"):
                status["tables"][table] = committed_rows(con, name, table)
        main = vendor(name).tables[0].name
        if "quarantine" in tables and main in tables:
            # A quarantined record whose id has since loaded (a later delivery was fine).
            status["quarantine_since_loaded"] = count(
                con,
                f"select count(*) from \"{name}\".quarantine q where json_extract_string(q.raw_json, '$.id') in "
                f'(select id from "{name}"."{main}")',
            )
    if "runs" in table_names(con, OPS_SCHEMA):  # the schema alone may hold only the loaded ranges
        status["last_run"] = last_run(con, name)
    return status


def print_status(warehouse: Warehouse, out: TextIO, shape: str = "text") -> int:
    """`shape`: text for people, `json` (status_document) or `prometheus` (prometheus_text)."""
    con = warehouse.connect(read_only=True)
    now = current_time()
    try:
        statuses = [source_status(con, name, now) for name in NAMES]
        for status in statuses:
            status["set_aside"] = set_aside_packages(warehouse.pipelines_dir, status["source"])
        document = status_document(con, warehouse, statuses, now)
    finally:
        con.close()
    if shape == "text":
        for status in statuses:
            _print_one(status, out)
        out.write(_views_line(document["views"]))
    elif shape == "json":
        out.write(json.dumps(document, indent=2) + "\n")
    else:
        out.write(prometheus_text(document))
    return EXIT_OK


def status_document(
    con: duckdb.DuckDBPyConnection, warehouse: Warehouse, statuses: list[SourceStatus], now: datetime
) -> dict[str, Any]:
    """`callhouse status --json`: the schema docs/operations.md documents (its version is `schema`)."""
    built = last_view_build(con)
    sources = {}
    successes: list[str] = []
    for s in statuses:
        run = s["last_run"]
        success = _last_success(con, s["source"]) if s["last_run"] else None
        success_at = _iso(success)
        if success_at:
            successes.append(success_at)
        sources[s["source"]] = {
            "last_run": None
            if run is None
            else {
                "command": f"callhouse {run['command']}",
                "started_at": _iso(run["started_at"]),
                "finished_at": _iso(run["finished_at"]),
                "outcome": run["outcome"],
                "rows": run["rows"],
                "message": one_line(run["message"], 1000) if run["message"] else None,
            },
            "last_success_at": success_at,
            "cursor": s["cursor"],
            "coverage": s["coverage"],
            "gaps": s["gaps"],
            "unfinished_backfills": s["unfinished_backfills"],
            "truncated_windows": len(s["truncated"]),
            "stale_open_calls": len(s["stale_open_calls"]),
            "rows": {t: n for t, n in s["tables"].items() if t != "quarantine"},
            "quarantine": {"records": s["tables"].get("quarantine", 0), "loaded_since": s["quarantine_since_loaded"]},
            "views_older_than_last_success": bool(success and (built is None or built < success)),
            "set_aside": [asdict(package) for package in s["set_aside"]],
        }
    last_load = max(successes) if successes else None
    return {
        "schema": 1,
        "generated_at": _iso(now),
        "warehouse": warehouse.describe(),
        "views": {
            "built_at": _iso(built),
            "last_load_at": last_load,
            "older_than_last_load": any(v["views_older_than_last_success"] for v in sources.values()),
        },
        "sources": sources,
    }


def _views_line(views: dict[str, Any]) -> str:
    built = f"built {views['built_at'].replace('T', ' ').rstrip('Z')} UTC" if views["built_at"] else "no build recorded"
    if views["older_than_last_load"]:
        return f"views: {built}, OLDER than the last load ({views['last_load_at']}): run `callhouse views`\n"
    return f"views: {built}\n"


def _last_success(con: duckdb.DuckDBPyConnection, source: str) -> datetime | None:
    """When the source's newest load that ended `ok` finished."""
    row = con.execute(f"select max(finished_at) from {OPS_SCHEMA}.runs where source = ? and outcome = 'ok'", [source]).fetchone()
    return row[0] if row else None


def _iso(value: datetime | None) -> str | None:
    """UTC, to the second, `Z`: what programs parse and compare as text."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- Prometheus text format (node_exporter's textfile collector reads it from a .prom file) ------

METRICS = (
    ("callhouse_last_success_timestamp_seconds", "When the source's newest successful load finished (Unix time; 0 = never)."),
    ("callhouse_last_run_ok", "1 if the source's newest run ended ok, 0 if it failed, was interrupted or is still running."),
    ("callhouse_rows", "Committed rows per table of the source."),
    ("callhouse_quarantined_records", "Records of the source that could not be loaded (its quarantine table)."),
    ("callhouse_coverage_gaps", "Ranges inside the source's loaded coverage that were never loaded."),
    ("callhouse_cursor_timestamp_seconds", "The source's nightly cursor (Unix time; 0 = no nightly run yet)."),
    ("callhouse_views_older_than_last_load", "1 if the views were built before the newest successful load."),
)


def prometheus_text(document: dict[str, Any]) -> str:
    """The status document's freshness as gauges, one HELP and TYPE per metric."""
    samples: dict[str, list[str]] = {name: [] for name, _ in METRICS}
    for source, s in document["sources"].items():
        label = f'source="{source}"'
        samples["callhouse_last_success_timestamp_seconds"].append(f"{{{label}}} {_unix(s['last_success_at'])}")
        if s["last_run"] is not None:
            samples["callhouse_last_run_ok"].append(f"{{{label}}} {int(s['last_run']['outcome'] == 'ok')}")
        for table, rows in sorted(s["rows"].items()):
            samples["callhouse_rows"].append(f'{{{label},table="{table}"}} {rows}')
        samples["callhouse_quarantined_records"].append(f"{{{label}}} {s['quarantine']['records']}")
        samples["callhouse_coverage_gaps"].append(f"{{{label}}} {len(s['gaps'])}")
        samples["callhouse_cursor_timestamp_seconds"].append(f"{{{label}}} {_unix(s['cursor'])}")
    samples["callhouse_views_older_than_last_load"].append(f" {int(document['views']['older_than_last_load'])}")
    lines = []
    for name, help_text in METRICS:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        lines += [f"{name}{sample}" for sample in samples[name]]
    return "\n".join(lines) + "\n"


def _unix(value: str | None) -> int:
    return int(parse_instant(value).timestamp()) if value else 0


def _print_one(s: SourceStatus, out: TextIO) -> None:
    out.write(f"{s['source']}\n")
    run = s["last_run"]
    if run and run["finished_at"] is None:
        out.write(
            f"  last run:  started {run['started_at']:%Y-%m-%d %H:%M:%S} UTC  `callhouse {run['command']}`  "
            "no end recorded: still running, or killed (its committed windows are kept; rerun to continue)\n"
        )
    elif run:
        line = f"  last run:  {run['finished_at']:%Y-%m-%d %H:%M:%S} UTC  `callhouse {run['command']}`  {run['outcome']}, {run['rows']:,} rows"
        if run["message"]:  # one line even for a message an older version stored with a traceback
            line += f"  ({one_line(run['message'], 1000)})"
        out.write(line + "\n")
    else:
        out.write("  last run:  never\n")
    out.write(f"  cursor:    {s['cursor'] or 'none (first nightly run starts at START_DATE)'}\n")
    coverage = ", ".join(f"[{a}, {b})" for a, b in s["coverage"]) or "nothing loaded"
    out.write(f"  coverage:  {coverage}\n")
    if s["purged_before"]:
        out.write(f"  purged:    calls before {iso(s['purged_before'])} (deleted for retention: not a gap)\n")
    if s["gaps"]:
        out.write("  gaps:      " + ", ".join(f"[{a}, {b})" for a, b in s["gaps"]) + "\n")
    for key in s["unfinished_backfills"]:
        out.write(f"  unfinished backfill: {key} (rerun the same backfill to resume)\n")
    if s["truncated"]:
        out.write(f"  TRUNCATED: {len(s['truncated'])} windows hit the vendor's result cap and could not be split:\n")
        for start, end, rows in s["truncated"]:
            out.write(f"    [{start}, {end}) {rows} rows\n")
    if s["stale_open_calls"]:
        out.write(f"  open calls past the horizon: {len(s['stale_open_calls'])} no longer re-checked:\n")
        for call_id, start in sorted(s["stale_open_calls"].items(), key=lambda kv: kv[1]):
            out.write(f"    {call_id} open since {start}\n")
    if s["tables"].get("quarantine"):
        since = s["quarantine_since_loaded"]
        resolved = f"; {since:,} of them have loaded since (a later delivery was fine)" if since else ""
        out.write(
            f"  quarantined: {s['tables']['quarantine']:,} records could not be loaded (see {s['source']}.quarantine){resolved}\n"
        )
    for package in s["set_aside"]:
        out.write(f"  SET ASIDE: {package.line()}\n")
    for table, rows in s["tables"].items():
        out.write(f"  {table:<48} {rows:>12,}\n")
