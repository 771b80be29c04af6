"""The warehouse: where loads land and analysts read (today the DuckDB file)."""

from pipelines.warehouse.duckdb_file import Warehouse

__all__ = ["Warehouse"]
