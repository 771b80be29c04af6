"""A warehouse many processes share, reached through a DuckDB session that attaches it (a DuckLake,
PostgreSQL): what the two kinds do alike."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

import duckdb

from pipelines.warehouse.duckdb_file import tune_for_loading
from pipelines.warehouse.kind import Warehouse


class AttachedWarehouse(Warehouse):
    @contextmanager
    def loading_connection(self, wait_s: float = 0.0) -> Iterator[duckdb.DuckDBPyConnection]:
        """The command's session for its bookkeeping (run log, loaded ranges); dlt loads through
        sessions of its own. Readers never wait for it: each sees the last committed state."""
        con = self.connect()
        try:
            tune_for_loading(con)
            yield con
        finally:
            con.close()

    def writer_lock(self, command: str, wait_s: float = 0.0) -> AbstractContextManager[None]:
        """No lock for the whole command: the store takes many writers (each source locks itself)."""
        return nullcontext()

    def how_to_open(self) -> list[str]:
        # How depends on the reader's tool (psql, a BI tool, DuckDB with the catalog attached).
        return [f"Open the warehouse: {self.describe()}; read it as docs/shared-warehouse.md shows"]
