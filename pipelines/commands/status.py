"""`callhouse status`: per source, what was loaded, up to where, and what is missing."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TextIO

from pipelines.errors import EXIT_OK
from pipelines.extract.ledger import STALE_OPEN_CALLS, coverage_gaps, coverage_until
from pipelines.fetch.windows import iso
from pipelines.fetch.windows import now as current_time
from pipelines.sources.registry import NAMES, vendor
from pipelines.warehouse.catalog import committed_ledger, committed_rows, schema_exists, table_names
from pipelines.warehouse.choice import Warehouse
from pipelines.warehouse.layout import OPS_SCHEMA
from pipelines.warehouse.purged_ranges import purged_before, without_purged
from pipelines.warehouse.run_log import last_run


def source_status(con: Any, name: str, now: datetime) -> dict[str, Any]:
    """What is committed: rows of unfinished loads and coverage beyond `now` are not shown."""
    state = committed_ledger(con, name)
    purged = purged_before(con, name)
    coverage = without_purged(coverage_until(state.get("coverage", []), now), purged)
    status: dict[str, Any] = {
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
    }
    if schema_exists(con, name):
        tables = table_names(con, name)
        for table in tables:
            if not table.startswith("_dlt"):
                status["tables"][table] = committed_rows(con, name, table)
        main = vendor(name).tables[0].name
        if "quarantine" in tables and main in tables:
            # A quarantined record whose id has since loaded (a later delivery was fine).
            status["quarantine_since_loaded"] = con.execute(
                f"select count(*) from \"{name}\".quarantine q where json_extract_string(q.raw_json, '$.id') in "
                f'(select id from "{name}"."{main}")'
            ).fetchone()[0]
    if "runs" in table_names(con, OPS_SCHEMA):  # the schema alone may hold only the loaded ranges
        status["last_run"] = last_run(con, name)
    return status


def print_status(warehouse: Warehouse, out: TextIO) -> int:
    con = warehouse.connect(read_only=True)
    now = current_time()
    try:
        for name in NAMES:
            _print_one(source_status(con, name, now), out)
    finally:
        con.close()
    return EXIT_OK


def _print_one(s: dict[str, Any], out: TextIO) -> None:
    out.write(f"{s['source']}\n")
    run = s["last_run"]
    if run and run["finished_at"] is None:
        out.write(
            f"  last run:  started {run['started_at']:%Y-%m-%d %H:%M:%S} UTC  `callhouse {run['command']}`  "
            "no end recorded: still running, or killed (its committed windows are kept; rerun to continue)\n"
        )
    elif run:
        line = f"  last run:  {run['finished_at']:%Y-%m-%d %H:%M:%S} UTC  `callhouse {run['command']}`  {run['outcome']}, {run['rows']:,} rows"
        if run["message"]:
            line += f"  ({run['message']})"
        out.write(line + "\n")
    else:
        out.write("  last run:  never\n")
    out.write(f"  cursor:    {s['cursor'] or 'none (first nightly run starts at START_DATE)'}\n")
    coverage = ", ".join(f"[{a}, {b})" for a, b in s["coverage"]) or "nothing loaded"
    out.write(f"  coverage:  {coverage}\n")
    if s.get("purged_before"):
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
    for table, count in s["tables"].items():
        out.write(f"  {table:<48} {count:>12,}\n")
