"""Fetch the next windows while dlt normalizes and loads the previous checkpoint.

Without it a run alternates: fetch and flatten a checkpoint (Python, one core), then load it
(DuckDB, which releases the GIL), with one of the two idle at any time. A `Lookahead` runs the
vendor's `fetch_window` on a background thread, in plan order, across the checkpoints of one
source run, and keeps at most `max_rows` rows of finished windows waiting: the first
`memory_rows` of them in memory, the rest written to Arrow files in a temporary folder and read
back when the walk takes them. A load takes as long as fetching a whole checkpoint, so without the
spill a checkpoint's rows (~100 MB of Arrow at the default 250,000) sat in memory beside DuckDB's
merge: the 1M-call backfill's peak (bench/README.md). Writing and reading a page's Arrow IPC
costs a copy of its bytes, against seconds of fetching.

Only for a `fetch_window` that does not touch dlt source state: the thread runs outside dlt's
context, and a window fetched ahead is not committed until the walk takes it (its state change
would otherwise commit with the previous checkpoint's data). CINNOX and Genesys qualify (Genesys
not when it loads headers: its remembered conversations are state); Bandwidth (the open-call
watch, the page index) keeps state per window and does not.

Nothing fetched ahead is lost by a crash: the walk records a window done only after handing
its rows to dlt, so a window still waiting here is fetched again by the next run.
"""

from __future__ import annotations

import enum
import shutil
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import pyarrow as pa

from pipelines.fetch.records import Batch
from pipelines.fetch.windows import Window

FetchWindow = Callable[[Window], Iterator[Batch]]


class _End(enum.Enum):
    WINDOW = "window end"


_WINDOW_END: Final = _End.WINDOW


@dataclass(frozen=True)
class _Spilled:
    """A page's Arrow batch waiting on disk: one Arrow IPC file per table."""

    files: dict[str, Path]
    rows: int


# What the fetch thread hands the walk: a page's Arrow batch (in memory or on disk), the end of a
# window, or the error that ended the fetch.
_Item = dict[str, pa.Table] | _Spilled | Literal[_End.WINDOW] | BaseException
# Rows kept in memory while more wait on disk: a few pages (~850 rows each for CINNOX), so the
# walk never waits on a read when the fetch is ahead.
MEMORY_ROWS = 20_000


def fetch_in_order(
    windows: Iterable[Window], fetch_window: FetchWindow, concurrency: int = 1
) -> Iterator[tuple[Window, Iterable[Batch]]]:
    """Each window with its batches, in order; up to `concurrency` windows fetched at once
    (pages inside a window stay sequential: offset paging needs the previous page)."""
    if concurrency <= 1:
        for window in windows:
            yield window, fetch_window(window)
        return
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="window") as pool:
        ahead: deque[tuple[Window, Future[list[Batch]]]] = deque()
        try:
            for window in windows:
                ahead.append((window, pool.submit(lambda w: list(fetch_window(w)), window)))
                if len(ahead) >= concurrency:
                    done_window, future = ahead.popleft()
                    yield done_window, future.result()
            while ahead:
                done_window, future = ahead.popleft()
                yield done_window, future.result()
        finally:
            # A checkpoint, an error or a closed lookahead stops the walk: drop what was fetched ahead.
            for _, future in ahead:
                future.cancel()


def as_arrow(batch: Batch) -> dict[str, pa.Table]:
    return {table: rows if isinstance(rows, pa.Table) else rows.to_arrow() for table, rows in batch.items()}


class Lookahead:
    """Windows fetched ahead on one thread; `take(window)` hands over each one's Arrow batches.

    One per source run (the runner makes it and closes it); each checkpoint's walk calls `follow`.
    Pages are handed over as they arrive, so memory is bounded by `max_rows`, whatever the size
    of a window.
    """

    def __init__(self, memory_rows: int | None = MEMORY_ROWS) -> None:
        """`memory_rows`: rows kept in memory before more wait on disk; None: all in memory (pages
        holding personal data not yet pseudonymized must not touch the disk)."""
        self.max_rows = 1
        self.memory_rows = memory_rows
        self._cond = threading.Condition()
        self._ready: deque[tuple[Window, _Item]] = deque()
        self._ready_rows = 0
        self._memory_rows = 0  # of _ready_rows, those in memory
        self._spill_dir: Path | None = None
        self._spilled = 0  # files written, to name the next
        self._planned: list[Window] = []  # windows not yet taken, in order
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closers: list[Callable[[], None]] = []

    def follow(
        self, windows: list[Window], fetch_window: FetchWindow, close: Callable[[], None], max_rows: int, concurrency: int = 1
    ) -> None:
        """Fetch these windows ahead, keeping up to `max_rows` rows waiting (one checkpoint: the
        next one is ready when the current one is loaded), unless already doing exactly that (a
        later checkpoint of the same run asks again with what is left of the same plan)."""
        with self._cond:
            self.max_rows = max(1, max_rows)
            if self._thread is not None and windows == self._planned:
                close()  # this checkpoint's client is not needed: the running fetch has its own
                return
        self.stop()
        self._stop = threading.Event()
        self._ready.clear()
        self._ready_rows = self._memory_rows = 0
        self._planned = list(windows)
        self._closers.append(close)
        self._thread = threading.Thread(
            target=self._produce, args=(list(windows), fetch_window, concurrency, self._stop), name="lookahead", daemon=True
        )
        self._thread.start()

    def take(self, window: Window) -> Iterator[dict[str, pa.Table]]:
        """The batches of the next planned window, as they arrive; a fetch error is raised here."""
        while True:
            fetched, item = self._next(window)
            if fetched != window:
                raise RuntimeError(f"lookahead out of order: fetched {fetched}, walk wants {window}")
            if item is _WINDOW_END:
                with self._cond:
                    self._planned.pop(0)
                return
            if isinstance(item, BaseException):
                raise item
            yield _read_back(item) if isinstance(item, _Spilled) else item

    def stop(self) -> None:
        """Stop fetching (at the next page) and drop what is waiting."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
        for close in self._closers:
            close()
        self._closers.clear()
        if self._spill_dir is not None:
            shutil.rmtree(self._spill_dir, ignore_errors=True)
            self._spill_dir = None

    close = stop

    def _next(self, window: Window) -> tuple[Window, _Item]:
        with self._cond:
            while not self._ready:
                if self._thread is None or not self._thread.is_alive():
                    raise RuntimeError(f"lookahead stopped before {window}")
                self._cond.wait(0.5)
            fetched, item = self._ready.popleft()
            self._ready_rows -= _rows(item)
            if isinstance(item, dict):
                self._memory_rows -= _rows(item)
            self._cond.notify_all()
            return fetched, item

    def _produce(self, windows: list[Window], fetch_window: FetchWindow, concurrency: int, stop: threading.Event) -> None:
        fetched = fetch_in_order(windows, fetch_window, concurrency)
        index = 0
        try:
            for window, batches in fetched:
                try:
                    for batch in batches:
                        if not self._put(window, as_arrow(batch), stop):
                            return
                except BaseException as exc:  # handed to the walk, which raises it in dlt's extract
                    self._put(window, exc, stop)
                    return
                if not self._put(window, _WINDOW_END, stop):
                    return
                index += 1
        except BaseException as exc:  # raised by fetch_in_order itself (a concurrent fetch)
            if index < len(windows):
                self._put(windows[index], exc, stop)
        finally:
            close_generator = getattr(fetched, "close", None)
            if close_generator:
                close_generator()

    def _put(self, window: Window, item: _Item, stop: threading.Event) -> bool:
        rows = _rows(item)
        with self._cond:
            # Wait while enough rows are waiting (the memory bound), unless nothing is: a page
            # larger than max_rows must still get through. Ends and errors never wait.
            while rows and self._ready and self._ready_rows >= self.max_rows and not stop.is_set():
                self._cond.wait(0.5)
            if stop.is_set():
                return False
            spill = (
                isinstance(item, dict)
                and self.memory_rows is not None
                and self._ready
                and self._memory_rows + rows > self.memory_rows
            )
        if spill and isinstance(item, dict):
            item = self._spill(item, rows)  # outside the lock: the walk goes on taking meanwhile
        with self._cond:
            if stop.is_set():
                return False  # stop() removes the spill folder, with this page's files
            self._ready.append((window, item))
            self._ready_rows += rows
            if isinstance(item, dict):
                self._memory_rows += rows
            self._cond.notify_all()
            return True

    def _spill(self, batch: dict[str, pa.Table], rows: int) -> _Spilled:
        if self._spill_dir is None:
            self._spill_dir = Path(tempfile.mkdtemp(prefix="callhouse-lookahead-"))
        files = {}
        for table_name, table in batch.items():
            self._spilled += 1
            path = self._spill_dir / f"{self._spilled}.arrow"
            with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
            files[table_name] = path
        return _Spilled(files, rows)


def _read_back(spilled: _Spilled) -> dict[str, pa.Table]:
    batch = {}
    for table_name, path in spilled.files.items():
        with pa.OSFile(str(path), "rb") as source:
            batch[table_name] = pa.ipc.open_file(source).read_all()
        path.unlink()
    return batch


def _rows(item: _Item) -> int:
    if isinstance(item, _Spilled):
        return item.rows
    return sum(table.num_rows for table in item.values()) if isinstance(item, dict) else 0
