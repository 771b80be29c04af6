"""The schemas a warehouse holds: one per vendor (dlt datasets), the view layers, our run log."""

from __future__ import annotations

from pipelines.sources.registry import NAMES

RAW_SCHEMAS: tuple[str, ...] = NAMES
VIEW_LAYERS: tuple[str, ...] = ("staging", "intermediate", "reporting")  # build order, as sql/ folders
OPS_SCHEMA = "callhouse"  # our own bookkeeping: the run log
# DuckDB names a file's catalog after the file: a catalog named like one of its schemas is ambiguous.
RESERVED_NAMES = frozenset(RAW_SCHEMAS + VIEW_LAYERS + (OPS_SCHEMA,))
