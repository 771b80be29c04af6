"""The window walk every source's dlt resource runs: plan, fetch, yield Arrow pages, checkpoint.

A vendor supplies `fetch_window(window) -> Iterator[Batch]` (its own paging) and the table specs;
this module decides which windows are pending, hands each page to dlt as one Arrow table per
warehouse table, records each finished window in dlt state, and ends the extract at a checkpoint
so the runner can commit (load) before going on. Data and state of a window commit together.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import dlt
import pendulum
import pyarrow as pa
from dlt.common.runtime import signals
from dlt.extract.items import DataItemWithMeta

from pipelines.errors import UsageError
from pipelines.extract.ledger import STATE_KEY, LoadRequest, Plan, SourceLedger
from pipelines.extract.lookahead import FetchWindow, Lookahead, fetch_in_order
from pipelines.extract.progress import Progress
from pipelines.extract.run_stats import RunStats
from pipelines.fetch.records import Batch, TableSpec, without_nul
from pipelines.fetch.windows import Window, parse_duration, parse_instant
from pipelines.settings import (
    DEFAULT_CHECKPOINT_ROWS,
    DEFAULT_CHECKPOINT_SECONDS,
    DEFAULT_START_DAYS_BACK,
    setting_name,
    whole_number,
)

# The most windows one plan may hold (planning holds them in memory): 100,000 is 11 years of hours.
MAX_WINDOWS = 100_000


@dataclass(frozen=True)
class Checkpoint:
    """End an extract after this many rows or seconds (at a window boundary) so it gets loaded."""

    rows: int = DEFAULT_CHECKPOINT_ROWS
    seconds: float = DEFAULT_CHECKPOINT_SECONDS


@dataclass(frozen=True)
class WalkSettings:
    """The settings every windowed source shares, parsed once; errors name the setting users set."""

    window: pendulum.Duration
    lookback: pendulum.Duration
    start_date: pendulum.DateTime | None
    checkpoint: Checkpoint
    source: str = ""

    @classmethod
    def parse(
        cls, source: str, window: str, lookback: str, start_date: str | None, checkpoint_rows: int, checkpoint_seconds: float
    ) -> WalkSettings:
        """From the source's own arguments of the same names (each source passes them in this order)."""

        def name(field: str) -> str:
            return setting_name("sources", source, field)

        size, behind = parse_duration(window, name("window")), parse_duration(lookback, name("lookback"))
        if size.total_seconds() <= 0:
            raise UsageError(f"{name('window')}: {window!r} is not a positive duration")
        if behind.total_seconds() < 0:
            raise UsageError(f"{name('lookback')}: {lookback!r} is negative")
        rows = whole_number(checkpoint_rows, name("checkpoint_rows"))
        if not float(checkpoint_seconds) > 0:
            raise UsageError(f"{name('checkpoint_seconds')}: {checkpoint_seconds!r} is not a positive number of seconds")
        return cls(
            window=size,
            lookback=behind,
            start_date=parse_instant(start_date, name("start_date")) if start_date else None,
            checkpoint=Checkpoint(rows=rows, seconds=float(checkpoint_seconds)),
            source=source,
        )


@dataclass
class WindowWalk:
    request: LoadRequest
    window_size: pendulum.Duration
    nightly_start: Callable[[SourceLedger], pendulum.DateTime]
    fetch_window: FetchWindow
    specs: dict[str, TableSpec]
    stats: RunStats
    progress: Progress
    checkpoint: Checkpoint = Checkpoint()
    # Windows fetched at once (pages inside a window stay sequential: offset paging needs the
    # previous page). 1 for a vendor whose paging carries a cursor across windows (Bandwidth).
    concurrency: int = 1
    # Fetch ahead while dlt loads (see lookahead.py); only for a fetch_window free of dlt state.
    lookahead: Lookahead | None = None
    # Closes the vendor client once nothing fetches any more (the lookahead may outlive the walk).
    release: Callable[[], None] = lambda: None
    # (table, page) -> page with personal values pseudonymized (privacy/), applied in _mark, which
    # every row of every table, quarantine included, passes before dlt sees it. None: as sent.
    pseudonymize: Callable[[str, pa.Table], pa.Table] | None = None

    def __iter__(self) -> Iterator[DataItemWithMeta]:
        try:
            yield from self._walk()
        finally:
            if self.lookahead is None:
                self.release()  # else the lookahead closes the client when the run ends

    def _walk(self) -> Iterator[DataItemWithMeta]:
        ledger = SourceLedger(dlt.current.source_state().setdefault(STATE_KEY, {}))
        plan = ledger.open_plan(self.request, self.nightly_start(ledger))
        self._refuse_huge(plan)
        windows = ledger.pending_windows(plan, self.window_size)
        self.stats.windows_total = self.stats.windows_done + len(windows)
        hinted: set[str] = set()
        pages = PageBuffer()
        started, rows_since = time.monotonic(), 0
        for index, (window, batches) in enumerate(self._fetched(windows)):
            window_rows = 0
            for batch in batches:
                for table, rows in batch.items():
                    if not len(rows):
                        continue
                    self.stats.rows[table] += len(rows)
                    window_rows += len(rows)
                    arrow = rows if isinstance(rows, pa.Table) else rows.to_arrow()
                    for full_table, gathered in pages.add(table, arrow):
                        yield self._mark(full_table, gathered, hinted)
                self.progress.update(self.stats, window)
                # Ctrl-C or SIGTERM (dlt intercepts both while the command loads): stop at the
                # next page; what was committed stays, this window is fetched again next time.
                signals.raise_if_signalled()
            for truncated_window, count in self.stats.truncated:
                if window.start <= truncated_window.start < window.end:
                    ledger.record_truncated(truncated_window, count)
            ledger.window_done(plan, window, self.request.kind == "nightly")
            self.stats.windows_done += 1
            self.progress.window_done(self.stats, window, window_rows)
            rows_since += window_rows
            last = index == len(windows) - 1
            if not last and (rows_since >= self.checkpoint.rows or time.monotonic() - started >= self.checkpoint.seconds):
                break  # the runner loads what we have, then calls again for the rest
        else:
            ledger.finish(plan, self.request)
        for table, gathered in pages.drain():
            yield self._mark(table, gathered, hinted)

    def _refuse_huge(self, plan: Plan) -> None:
        """A plan of more than MAX_WINDOWS windows is refused before any is made (a 10-year
        backfill in 1-minute windows would take minutes to plan and gigabytes to hold)."""
        span = parse_instant(plan["end"]) - parse_instant(plan["done_until"])
        count = math.ceil(span.total_seconds() / self.window_size.total_seconds())
        if count > MAX_WINDOWS:
            source = self.stats.source
            raise UsageError(
                f"{source}: [{plan['done_until']}, {plan['end']}) is {count:,} windows of {self.window_size.in_words()}, "
                f"more than {MAX_WINDOWS:,}: set a larger {setting_name('sources', source, 'window')} or a shorter range"
            )

    def _fetched(self, windows: list[Window]) -> Iterator[tuple[Window, Iterable[Batch]]]:
        """Each window with its batches, in order."""
        if self.lookahead is None:
            yield from fetch_in_order(windows, self.fetch_window, self.concurrency)
            return
        self.lookahead.follow(windows, self.fetch_window, self.release, self.checkpoint.rows, self.concurrency)
        for window in windows:
            yield window, self.lookahead.take(window)

    def _mark(self, table: str, arrow: pa.Table, hinted: set[str]) -> DataItemWithMeta:
        # NUL characters go before anything else sees the values (pseudonyms, every warehouse).
        arrow, removed = without_nul(arrow)
        self.stats.count_nul_removed(removed)
        # Every gathered page passes here on its way to dlt: pseudonyms are made on whole batches
        # (tens of thousands of rows) rather than per vendor page, which costs a fixed overhead.
        if self.pseudonymize is not None:
            arrow = self.pseudonymize(table, arrow)
        # Table hints travel with the first page of each table; later pages only name the table.
        if table in hinted:
            return dlt.mark.with_table_name(arrow, table)
        hinted.add(table)
        return dlt.mark.with_hints(arrow, dlt.mark.make_hints(**self.specs[table].hints()), create_table_variant=True)


class PageBuffer:
    """Gathers pages of each table into larger Arrow tables before dlt sees them.

    dlt spends tens of milliseconds on every item it is handed (schema inference and merging),
    whatever its size: one item per vendor page would cost more than the rows themselves.
    Everything gathered is handed over before the extract ends, so data and state still commit
    in the same load.
    """

    def __init__(self, flush_rows: int = 50_000):
        self.flush_rows = flush_rows
        self._tables: dict[str, list[pa.Table]] = {}
        self._rows: dict[str, int] = {}

    def add(self, table: str, arrow: pa.Table) -> list[tuple[str, pa.Table]]:
        self._tables.setdefault(table, []).append(arrow)
        self._rows[table] = self._rows.get(table, 0) + arrow.num_rows
        return [self._take(table)] if self._rows[table] >= self.flush_rows else []

    def drain(self) -> list[tuple[str, pa.Table]]:
        return [self._take(table) for table in list(self._tables)]

    def _take(self, table: str) -> tuple[str, pa.Table]:
        parts = self._tables.pop(table)
        self._rows.pop(table)
        # Pages may differ in their undeclared (extra) columns: missing ones become nulls.
        return table, parts[0] if len(parts) == 1 else pa.concat_tables(parts, promote_options="default")


def default_nightly_start(
    end: pendulum.DateTime, lookback: pendulum.Duration, start_date: pendulum.DateTime | None
) -> Callable[[SourceLedger], pendulum.DateTime]:
    """Cursor minus lookback; on the first run START_DATE (default: DEFAULT_START_DAYS_BACK days
    before now)."""

    def nightly_start(ledger: SourceLedger) -> pendulum.DateTime:
        cursor = ledger.cursor
        if cursor is None:
            return start_date or end.subtract(days=DEFAULT_START_DAYS_BACK)
        return min(cursor - lookback, end)

    return nightly_start
