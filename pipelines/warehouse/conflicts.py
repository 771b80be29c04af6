"""Writers that meet: a DuckLake takes many, and refuses the later of two commits to one table."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import duckdb

# How often a write is tried again when another process committed to the same table first.
CONFLICT_TRIES = 8

T = TypeVar("T")


def retry_on_conflict(write: Callable[[], T]) -> T:
    """A bookkeeping write another process raced to the same table: DuckLake refuses the later
    commit ("conflict"); doing it again on the new snapshot is right for these small writes."""
    for attempt in range(CONFLICT_TRIES):
        try:
            return write()
        except duckdb.TransactionException as exc:
            if "conflict" not in str(exc).lower() or attempt == CONFLICT_TRIES - 1:
                raise
            time.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")
