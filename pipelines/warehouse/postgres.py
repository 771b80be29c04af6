"""PostgreSQL as the warehouse, where many teams already keep their data and point their BI tools.

dlt loads it (its postgres destination; Parquet through ADBC). callhouse's own reads and
bookkeeping (run log, loaded ranges, status, data tests, the report) go through a DuckDB session
with the database attached by DuckDB's postgres extension (from its pinned wheel), so the same SQL
serves every warehouse. The views are the exception: analysts query them from PostgreSQL itself,
so they are created natively (models/views.py, in PostgreSQL's SQL) over a psycopg2 session.

Setting: dlt's `DESTINATION__POSTGRES__CREDENTIALS` (`postgresql://user:pass@host:5432/db`); its
password is kept out of every message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb

from pipelines.errors import CallhouseError, UsageError, one_line
from pipelines.warehouse.advisory_lock import advisory_lock
from pipelines.warehouse.database_url import keep_secret, shown
from pipelines.warehouse.duckdb_file import tune_for_loading
from pipelines.warehouse.extensions import duckdb_config

CREDENTIALS_SETTING = "DESTINATION__POSTGRES__CREDENTIALS"
ALIAS = "pg"  # DuckDB's name for the attached database
_REFUSED = re.compile(r"(?:connection to server at [^:]+ failed: )?(FATAL: .*|could not connect.*|Connection refused.*)", re.I)


@dataclass(frozen=True)
class PostgresWarehouse:
    url: str  # postgresql://user:pass@host:port/db
    work_dir: Path  # this machine's folder for dlt's working files

    @classmethod
    def from_settings(cls, work_dir: Path) -> PostgresWarehouse:
        import dlt

        url = dlt.secrets.get("destination.postgres.credentials")
        if not url:
            raise UsageError(f"WAREHOUSE__DESTINATION=postgres: set {CREDENTIALS_SETTING} (.dlt/secrets.toml or environment)")
        if not isinstance(url, str) or urlsplit(url.strip()).scheme not in ("postgres", "postgresql"):
            raise UsageError(f"{CREDENTIALS_SETTING}: write it as one URL, postgresql://user:password@host:5432/database")
        return cls(url.strip(), work_dir)

    def __post_init__(self) -> None:
        keep_secret(self.url)

    def describe(self) -> str:
        return f"PostgreSQL {shown(self.url)}"

    @property
    def folder(self) -> Path:
        return self.work_dir

    @property
    def pipelines_dir(self) -> Path:
        return self.work_dir / ".dlt_pipelines" / "postgres"

    @property
    def engine(self) -> str:
        return "postgres"

    # --- sessions -----------------------------------------------------------------------------

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """A DuckDB session with the database attached and in use: `schema.table` names its tables."""
        con = duckdb.connect(config=duckdb_config())
        try:
            con.execute(f"ATTACH '{_libpq(self.url)}' AS {ALIAS} (TYPE postgres{', READ_ONLY' if read_only else ''})")
            con.execute(f"use {ALIAS}")
        except duckdb.Error as exc:
            con.close()
            raise CallhouseError(f"{self.describe()} cannot be opened: {_reason(exc)}") from None
        return con

    def native(self) -> Any:
        """A psycopg2 session (autocommit off) for what must be PostgreSQL's own SQL: the views."""
        import psycopg2

        try:
            return psycopg2.connect(self.url.replace("postgres://", "postgresql://", 1), application_name="callhouse views")
        except psycopg2.Error as exc:
            raise CallhouseError(f"{self.describe()} cannot be opened: {_reason(exc)}") from None

    @contextmanager
    def loading_connection(self, wait_s: float = 0.0) -> Iterator[duckdb.DuckDBPyConnection]:
        """The command's session for its bookkeeping; dlt loads through sessions of its own."""
        con = self.connect()
        try:
            tune_for_loading(con)
            yield con
        finally:
            con.close()

    def destination(self, connection: duckdb.DuckDBPyConnection) -> Any:
        import dlt

        return dlt.destinations.postgres(credentials=self.url.replace("postgres://", "postgresql://", 1))

    # --- who may write ------------------------------------------------------------------------

    def writer_lock(self, command: str, wait_s: float = 0.0) -> Any:
        """PostgreSQL takes many writers: each source locks itself (source_lock)."""
        return nullcontext()

    def source_lock(self, source: str, command: str, wait_s: float = 0.0) -> Any:
        return advisory_lock(self.url, f"warehouse:{source}", source, command, wait_s, self.describe())


def _libpq(url: str) -> str:
    """The URL as DuckDB's postgres extension takes it (it knows postgresql://)."""
    return url.replace("postgres://", "postgresql://", 1).replace("'", "''")


def _reason(exc: Exception) -> str:
    text = one_line(exc, 1000)
    refused = _REFUSED.search(text)
    return refused.group(1) if refused else text
