"""The DuckDB warehouse file: where it is, who may write it, the run log, and reading it back."""
from __future__ import annotations

import fcntl
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import dlt
import duckdb
import orjson
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from pipelines.errors import UsageError, WarehouseBusy

DEFAULT_PATH = "warehouse/calls.duckdb"
OPS_SCHEMA = "callhouse"  # our own bookkeeping: the run log
# DuckDB's memory for loading (WAREHOUSE__LOAD_MEMORY_LIMIT). Its default, 80% of RAM, lets its
# block cache grow with the warehouse; 256MB measured as fast on 1M calls and ~130 MB lower at
# peak (bench/README). Larger merges spill to a temp folder beside the warehouse.
DEFAULT_LOAD_MEMORY_LIMIT = "256MB"
# DuckDB threads while loading (WAREHOUSE__LOAD_THREADS): all cores but one, which the fetch
# thread (lookahead.py) uses meanwhile. On 2 cores 1 thread measured ~4% faster than 2 on 1M
# calls (33.4 s vs 34.8 s, three runs each) and ~25 MB lower at peak.
_MEMORY_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Warehouse:
    path: Path

    @classmethod
    def resolve(cls, path: str | None) -> Warehouse:
        chosen = path or os.environ.get("CALLHOUSE_WAREHOUSE") or DEFAULT_PATH
        resolved = Path(chosen).expanduser().absolute()
        if resolved.stem in {"cinnox", "bandwidth", "genesys", "staging", "reporting", OPS_SCHEMA}:
            # DuckDB names the catalog after the file: a catalog named like a schema is ambiguous.
            raise UsageError(f"--warehouse: the file name {resolved.name!r} clashes with a schema name; pick another name")
        return cls(resolved)

    @property
    def pipelines_dir(self) -> Path:
        """dlt's working folders for this warehouse (pending packages, local state)."""
        return self.path.parent / ".dlt_pipelines" / self.path.stem

    def loader_credentials(self) -> DuckDbCredentials:
        """How dlt opens the warehouse to load it."""
        credentials = DuckDbCredentials(str(self.path))
        limit = str(dlt.config.get("warehouse.load_memory_limit") or DEFAULT_LOAD_MEMORY_LIMIT)
        if not _MEMORY_SIZE.match(limit):
            raise UsageError(f"WAREHOUSE__LOAD_MEMORY_LIMIT: {limit!r} is not a memory size (write e.g. 256MB or 2GB)")
        threads = dlt.config.get("warehouse.load_threads") or max(1, len(os.sched_getaffinity(0)) - 1)
        if not str(threads).strip().isdigit() or int(threads) < 1:
            raise UsageError(f"WAREHOUSE__LOAD_THREADS: {threads!r} is not a positive whole number")
        threads = int(threads)
        credentials.global_config = {"memory_limit": limit, "threads": threads}
        return credentials

    @property
    def exists(self) -> bool:
        return self.path.exists()

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        if read_only and not self.exists:
            raise UsageError(f"no warehouse at {self.path}: run `callhouse run` or `callhouse backfill` first")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            raise WarehouseBusy(f"warehouse {self.path} is open in another process ({_lock_holder(exc)}): close that session and retry") from None

    @contextmanager
    def writer_lock(self, command: str, wait_s: float = 0.0) -> Iterator[None]:
        """One callhouse writer per warehouse; a second one is told which command holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        handle = open(lock_path, "a+")
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another callhouse command"
                    handle.close()
                    raise WarehouseBusy(f"warehouse {self.path} is in use by {holder}; retry later or pass --wait SECONDS") from None
                time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        handle.write(f"`callhouse {command}` (pid {os.getpid()})")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


def _lock_holder(exc: Exception) -> str:
    text = str(exc)
    marker = "PID "
    if marker in text:
        return "pid " + text.split(marker, 1)[1].split(")")[0].split(" ")[0]
    return text.splitlines()[0][:120]


RUNS_DDL = f"""
create schema if not exists {OPS_SCHEMA};
create table if not exists {OPS_SCHEMA}.runs (
    run_id text, source text, command text, started_at timestamptz, finished_at timestamptz,
    outcome text, rows bigint, requests bigint, throttled bigint, retries bigint,
    quarantined bigint, truncated_windows bigint, message text, details json
);
"""


def record_run(con: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> None:
    con.execute(RUNS_DDL)
    columns = ["run_id", "source", "command", "started_at", "finished_at", "outcome", "rows", "requests",
               "throttled", "retries", "quarantined", "truncated_windows", "message", "details"]
    values = [row.get(c) for c in columns]
    values[-1] = orjson.dumps(row.get("details") or {}).decode()
    con.execute(f"insert into {OPS_SCHEMA}.runs ({', '.join(columns)}) values ({', '.join('?' * len(columns))})", values)


def schema_exists(con: duckdb.DuckDBPyConnection, schema: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.schemata where schema_name = ?", [schema]).fetchone()[0])


def table_names(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ? and table_type = 'BASE TABLE' order by table_name",
        [schema],
    ).fetchall()
    return [r[0] for r in rows]
