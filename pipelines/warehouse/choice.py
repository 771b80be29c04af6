"""Which warehouse a command works on: the setting WAREHOUSE__DESTINATION decides.

Every command takes a warehouse from here and uses only what every kind offers (kind.Warehouse).
"""

from __future__ import annotations

from pipelines.settings import warehouse_settings
from pipelines.warehouse.duckdb_file import DuckDBFile
from pipelines.warehouse.ducklake import DuckLake
from pipelines.warehouse.kind import Warehouse
from pipelines.warehouse.postgres import PostgresWarehouse


def resolve_warehouse(path: str | None) -> Warehouse:
    """The configured warehouse. `path` (--warehouse, $CALLHOUSE_WAREHOUSE) is the DuckDB file, or
    for a DuckLake or PostgreSQL the file whose folder keeps this machine's working files."""
    file = DuckDBFile.resolve(path)
    destination = warehouse_settings().destination
    if destination == "ducklake":
        return DuckLake.from_settings(file.folder)
    if destination == "postgres":
        return PostgresWarehouse.from_settings(file.folder)
    return file
