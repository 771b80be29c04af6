"""The DuckDB warehouse file: where it is, how callhouse and dlt open it, who may write it."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipelines.errors import CallhouseError, UsageError, WarehouseBusy, machine_failure
from pipelines.settings import warehouse_settings
from pipelines.warehouse.duckdb_engine import DuckDBEngine
from pipelines.warehouse.layout import RESERVED_NAMES
from pipelines.warehouse.writer_lock import current_writer, writer_lock

if TYPE_CHECKING:
    from dlt.common.destination import TDestinationReferenceArg

DEFAULT_PATH = "warehouse/calls.duckdb"
# How long a load waits for a reader that had the warehouse open before it started.
READER_WAIT_S = 30.0


@dataclass(frozen=True)
class DuckDBFile(DuckDBEngine):
    path: Path

    @classmethod
    def resolve(cls, path: str | None) -> DuckDBFile:
        chosen = path or os.environ.get("CALLHOUSE_WAREHOUSE") or DEFAULT_PATH
        resolved = Path(chosen).expanduser().absolute()
        if resolved.stem in RESERVED_NAMES:
            # DuckDB names the catalog after the file: a catalog named like a schema is ambiguous.
            raise UsageError(f"--warehouse: the file name {resolved.name!r} clashes with a schema name; pick another name")
        return cls(resolved)

    def describe(self) -> str:
        return f"warehouse {self.path}"

    def how_to_open(self) -> list[str]:
        python = Path(sys.executable)
        return [
            "Open the warehouse (read-only, while no load runs) with the DuckDB CLI of the venv:",
            f"  {_shown(python.parent / 'duckdb')} -readonly {_shown(self.path)}",
            "    select * from reporting.daily_calls order by day, vendor;",
            "    select * from reporting.calls where outcome = 'missed' limit 20;",
            "  or from Python:",
            f"  {_shown(python)} -c \"import duckdb; duckdb.connect('{_shown(self.path)}', read_only=True)"
            ".sql('select * from reporting.daily_calls order by day, vendor').show()\"",
            "Views: reporting.calls, daily_calls, recordings, sip_headers, sip_messages, hourly_concurrency, agent_daily",
        ]

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def pipelines_dir(self) -> Path:
        return self.path.parent / ".dlt_pipelines" / self.path.stem

    @contextmanager
    def loading_connection(self, wait_s: float = 0.0) -> Iterator[duckdb.DuckDBPyConnection]:
        """The one connection a load command writes through, held from its start to its end.

        DuckDB lets one process write a file. Held for the whole command, no reader that opens
        the file meanwhile (`callhouse status`, an analyst's read-only session) can make a step of
        the load fail; such a reader is told that a load is running instead. A reader that had
        the file open before is waited for, `wait_s` (--wait) or READER_WAIT_S, with one line.
        Memory and threads: settings.WarehouseSettings.
        """
        warehouse_settings()  # a bad memory or thread setting is exit 2 before any waiting
        bound = wait_s or READER_WAIT_S
        deadline = time.monotonic() + bound
        said = False
        while True:
            try:
                con = self.connect()
                break
            except WarehouseBusy:
                if time.monotonic() >= deadline:
                    raise
                if not said:
                    print(
                        f"callhouse: warehouse {self.path} is open in another process: waiting up to {bound:g} s for it to close",
                        file=sys.stderr,
                        flush=True,
                    )
                    said = True
                time.sleep(0.5)
        try:
            tune_for_loading(con)
            yield con
        finally:
            con.close()

    @property
    def exists(self) -> bool:
        return self.path.exists()

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        if read_only and not self.exists:
            raise UsageError(f"no warehouse at {self.path}: run `callhouse run` or `callhouse backfill` first")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return duckdb.connect(str(self.path), read_only=read_only)
        except OSError as exc:
            refused = machine_failure(exc)
            if refused is None:
                raise
            raise refused.at(self.path.parent) from None
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                writer = current_writer(self.path) if read_only else None  # a writer knows it holds the lock
                if writer:
                    raise WarehouseBusy(f"warehouse {self.path} is being loaded by {writer}; retry when it ends") from None
                raise WarehouseBusy(
                    f"warehouse {self.path} is open in another process ({_lock_holder(exc)}): close that session and retry"
                ) from None
            refused = machine_failure(exc)
            if refused is not None:
                raise refused.at(self.path) from None
            # Not a lock: an empty or corrupt file, a folder, a disk that refuses to be read.
            reason = str(exc).splitlines()[0].removeprefix("IO Error: ")
            raise CallhouseError(f"warehouse {self.path} cannot be opened: {reason}") from None

    def writer_lock(self, command: str, wait_s: float = 0.0) -> AbstractContextManager[None]:
        """One callhouse writer per warehouse; a second one is told which command holds it."""
        return writer_lock(self.path, command, wait_s)

    def source_lock(self, source: str, command: str, wait_s: float = 0.0) -> AbstractContextManager[None]:
        """Nothing more per source: the file has one writer, held by `writer_lock`."""
        return nullcontext()

    def destination(self, connection: duckdb.DuckDBPyConnection) -> TDestinationReferenceArg:
        """dlt's duckdb destination, loading through the command's one connection, each load
        published in one transaction (publish.py)."""
        from pipelines.warehouse.publish import duckdb_published

        return duckdb_published(connection)


def tune_for_loading(con: duckdb.DuckDBPyConnection) -> None:
    """A load command's DuckDB memory and threads (settings.WarehouseSettings), on either warehouse."""
    settings = warehouse_settings()
    con.execute(f"SET memory_limit = '{settings.load_memory_limit}'")
    con.execute(f"SET threads = {settings.threads()}")


def _shown(path: Path) -> str:
    """A path as the hint shows it: relative to the current folder when under it (`make demo`:
    .venv/bin/duckdb, warehouse/calls.duckdb)."""
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def _lock_holder(exc: Exception) -> str:
    text = str(exc)
    marker = "PID "
    if marker in text:
        return "pid " + text.split(marker, 1)[1].split(")")[0].split(" ")[0]
    return text.splitlines()[0][:120]
