"""Writers that meet: a DuckLake takes many, and refuses the later of two commits to one table."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import duckdb

# How often a write is tried again when another process committed to the same table first.
CONFLICT_TRIES = 8

T = TypeVar("T")


def is_conflict(exc: BaseException) -> bool:
    """DuckLake's refusal of the later of two commits, also where dlt's SQL client wrapped it."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, duckdb.TransactionException) and "conflict" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def retry_on_conflict(write: Callable[[], T], tries: int = CONFLICT_TRIES) -> T:
    """A write another process raced to the same table: DuckLake refuses the later commit
    ("conflict"), rolled back whole; doing it again on the new snapshot is right for these writes
    (bookkeeping, and a load's publish, whose staged rows still wait)."""
    for attempt in range(tries):
        try:
            return write()
        except Exception as exc:
            if not is_conflict(exc) or attempt == tries - 1:
                raise
            time.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")
