"""`callhouse.runs`: one row per source per command, what `callhouse status` reads back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TypedDict

import duckdb
import orjson

from pipelines.warehouse.conflicts import retry_on_conflict
from pipelines.warehouse.layout import OPS_SCHEMA

RUNS_DDL = f"""
create schema if not exists {OPS_SCHEMA};
create table if not exists {OPS_SCHEMA}.runs (
    run_id text, source text, command text, started_at timestamptz, finished_at timestamptz,
    outcome text, rows bigint, requests bigint, throttled bigint, retries bigint,
    quarantined bigint, truncated_windows bigint, message text, details json
);
"""
COLUMNS = (
    "run_id",
    "source",
    "command",
    "started_at",
    "finished_at",
    "outcome",
    "rows",
    "requests",
    "throttled",
    "retries",
    "quarantined",
    "truncated_windows",
    "message",
    "details",
)


def record_run(con: duckdb.DuckDBPyConnection, row: Mapping[str, object]) -> None:
    """Insert the run's row, replacing the row the same run wrote when it started."""
    values = [row.get(c) for c in COLUMNS]
    values[-1] = orjson.dumps(row.get("details") or {}).decode()

    def write() -> None:
        con.execute(RUNS_DDL)
        con.execute(f"delete from {OPS_SCHEMA}.runs where run_id = ? and source = ?", [row.get("run_id"), row.get("source")])
        con.execute(f"insert into {OPS_SCHEMA}.runs ({', '.join(COLUMNS)}) values ({', '.join('?' * len(COLUMNS))})", values)

    retry_on_conflict(write)


DEAD_RUN = "ended without recording its outcome (killed, or the warehouse became unreachable); its committed windows are kept"


def end_dead_runs(con: duckdb.DuckDBPyConnection, source: str, now: datetime) -> None:
    """Marks `failed` the source's runs still logged as `running`: called by a load holding the
    source's lock, so none of them is alive (an outage that cut the warehouse off also stops
    the run from recording its end)."""

    def write() -> None:
        con.execute(RUNS_DDL)
        dead = con.execute(f"select count(*) from {OPS_SCHEMA}.runs where source = ? and outcome = 'running'", [source])
        if dead.fetchone() == (0,):
            return  # the usual case: no write, so no new snapshot of a lake
        con.execute(
            f"update {OPS_SCHEMA}.runs set outcome = 'failed', finished_at = ?, message = ? "
            "where source = ? and outcome = 'running'",
            [now, DEAD_RUN, source],
        )

    retry_on_conflict(write)


class LastRun(TypedDict):
    command: str
    started_at: datetime
    finished_at: datetime | None  # None: still running, or killed
    outcome: str
    rows: int | None
    message: str | None


def last_run(con: duckdb.DuckDBPyConnection, source: str) -> LastRun | None:
    """The newest run of a source: command, started_at, finished_at, outcome, rows, message.
    A run that was killed keeps the row it wrote when it started: outcome `running`, no end."""
    columns = ("command", "started_at", "finished_at", "outcome", "rows", "message")
    row = con.execute(
        f"select {', '.join(columns)} from {OPS_SCHEMA}.runs where source = ? "
        "order by coalesce(finished_at, started_at) desc limit 1",
        [source],
    ).fetchone()
    if not row:
        return None
    command, started_at, finished_at, outcome, rows, message = row
    return LastRun(command=command, started_at=started_at, finished_at=finished_at, outcome=outcome, rows=rows, message=message)
