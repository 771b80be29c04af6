"""Genesys siptraces: capped (unpaged) queries split until complete, and record flattening."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.errors import VendorError
from pipelines.fetch.http import VendorClient
from pipelines.fetch.records import (
    ARROW_TYPE,
    QUARANTINE,
    Batch,
    TablePieces,
    TableRows,
    not_an_object,
    quarantine_row,
    typed_columns,
)
from pipelines.fetch.windows import Window, iso

from .settings import CONVERSATION_SIP_HEADERS, SIPTRACES, SIPTRACES_PATH

TIMESTAMP = ARROW_TYPE["timestamp"]


def error_text(response: httpx.Response) -> str:
    """Genesys errors are `{message, code, status, ...}`; the correlation id is what support asks for."""
    body = response.json()
    text = f"{body.get('message', '')} (code {body.get('code')})"
    correlation = response.headers.get("ININ-Correlation-Id")
    return f"{text} [correlation id {correlation}]" if correlation else text


# --- windows the API can answer completely ----------------------------------------------------


@dataclass
class SplitReport:
    """What one walk window cost: queries sent, windows split, windows left truncated."""

    queries: int = 0
    splits: int = 0
    records: int = 0  # as answered, before splitting threw full answers away
    kept: int = 0  # in the answers yielded
    truncated: list[tuple[Window, int]] = field(default_factory=list)


def ms_halves(window: Window, min_ms: int) -> tuple[Window, Window] | None:
    """Window.halves() with the middle on a whole millisecond (all dateStart/dateEnd can say);
    None when a half would be narrower than `min_ms`."""
    parts = ms_parts(window, 2, min_ms)
    return (parts[0], parts[1]) if len(parts) == 2 else None


def ms_parts(window: Window, count: int, min_ms: int) -> list[Window]:
    """`window` cut into `count` parts of (nearly) equal width, cut on whole milliseconds; fewer
    when a part would be narrower than `min_ms` (the window itself when it cannot be cut)."""
    span_ms = (window.end - window.start).total_seconds() * 1000
    count = max(1, min(count, int(span_ms // max(1, min_ms))))
    cuts = [window.start]
    for index in range(1, count):
        cut = window.start.add(microseconds=int(span_ms * 1000 * index / count))
        cuts.append(cut.replace(microsecond=cut.microsecond // 1000 * 1000))
    cuts.append(window.end)
    return [Window(start, end) for start, end in zip(cuts, cuts[1:])]


@dataclass
class PartPlanner:
    """How many parts to ask a walk window in from the start, from the rows per second of the
    window before it (windows come in time order, and busy hours follow busy hours).

    Halving a busy hour from the whole hour down throws away every full answer on the way: an hour
    of 700 rows cost 15 queries for 8 that count. Asked straight away in parts expected to hold
    FILL of the cap, it costs about one query per part; a part that still comes back full is
    halved as before, so the rows are the same either way."""

    FILL = 0.75
    cap: int
    min_ms: int
    rows_per_second: float = 0.0

    def parts(self, window: Window) -> int:
        expected = self.rows_per_second * (window.end - window.start).total_seconds()
        return max(1, math.ceil(expected / (self.cap * self.FILL)))

    def note(self, window: Window, rows: int) -> None:
        self.rows_per_second = rows / max((window.end - window.start).total_seconds(), 0.001)


def siptrace_results(
    client: VendorClient, window: Window, cap: int, min_ms: int, report: SplitReport, parts: int = 1
) -> Iterator[tuple[Window, list[Any]]]:
    """(window, records) for queries that returned fewer than `cap` rows, covering `window`, asked
    in `parts` parts to begin with (PartPlanner).

    Vendor quirk: siptraces is not paged and silently stops at a result cap, so a full answer
    means "maybe more". A full window is split in two and both halves are asked again (its rows
    are dropped: which rows the cap kept is not documented). A full window that cannot be split
    (narrower than 2 x min_ms) is yielded as it came and recorded as truncated.
    """
    pending = list(reversed(ms_parts(window, parts, min_ms)))  # earliest first
    while pending:
        current = pending.pop()
        records = siptraces(client, current)
        report.queries += 1
        report.records += len(records)
        if len(records) >= cap:
            halves = ms_halves(current, min_ms)
            if halves is not None:
                report.splits += 1
                pending.extend(reversed(halves))  # earlier half first
                continue
            report.truncated.append((current, len(records)))
        report.kept += len(records)
        yield current, records


def siptraces(client: VendorClient, window: Window) -> list[Any]:
    body, _ = client.get_json(SIPTRACES_PATH, params={"dateStart": iso(window.start), "dateEnd": iso(window.end)})
    if not isinstance(body, dict):
        raise VendorError("genesys", f"siptraces {window}: answered {type(body).__name__}, expected a SipSearchResult object")
    records = body.get("data")
    if records is None:  # an empty result may leave `data` out
        return []
    if not isinstance(records, list):
        raise VendorError("genesys", f"siptraces {window}: `data` is {type(records).__name__}, expected a list")
    return records


# --- records -> rows --------------------------------------------------------------------------


class SiptraceFlattener:
    """HomerRecords -> `siptraces` rows of one walk window (and quarantine rows).

    The records of several queries wait (`add`) and are typed together, column by column
    (records.typed_columns, `flush`): a query answers at most the cap (100) rows, and typing each
    answer alone cost more in Arrow calls per column than in rows. A record with a value that
    cannot be typed goes whole to quarantine.

    Rows outside their query's window are dropped (whether dateEnd is inclusive is not documented,
    and the boundary record belongs to the next window), as are repeats of a message (id and time)
    already seen in this walk window.
    """

    def __init__(self, walk_window: Window):
        self.walk_window = walk_window
        self.seen: set[tuple[str, int]] = set()  # (id, date in microseconds)
        self.conversation_ids: list[str] = []  # in first-seen order
        self._conversations: set[str] = set()
        self._records: list[dict[str, Any]] = []
        self._windows: list[tuple[Window, int]] = []  # each query's window, and its records waiting

    @property
    def waiting(self) -> int:
        return len(self._records)

    def flatten(self, records: Iterable[Any], window: Window, traces: TablePieces, quarantine: TableRows) -> None:
        self.add(records, window, quarantine)
        self.flush(traces, quarantine)

    def add(self, records: Iterable[Any], window: Window, quarantine: TableRows) -> None:
        """One query's answer: its records wait for `flush` (those that are not objects go to quarantine)."""
        before = len(self._records)
        for record in records:
            if isinstance(record, dict):
                self._records.append(record)
            else:
                quarantine.add(quarantine_row(SIPTRACES.name, record, not_an_object(record), self.walk_window))
        self._windows.append((window, len(self._records) - before))

    def flush(self, traces: TablePieces, quarantine: TableRows) -> None:
        """Type the waiting records into `traces` (and `quarantine`)."""
        objects, windows = self._records, self._windows
        self._records, self._windows = [], []
        if not objects:
            return
        bad: dict[int, str] = {}
        columns = typed_columns(SIPTRACES, objects, bad, "siptrace")
        keep = self._kept(columns["id"], columns["date"], windows, bad)
        for index in sorted(bad):
            quarantine.add(quarantine_row(SIPTRACES.name, objects[index], bad[index], self.walk_window))
        rows = pa.table(columns).filter(pa.array(keep))
        if not rows.num_rows:
            return
        traces.add(rows)
        for conversation in rows["conversation_id"].to_pylist():
            if conversation and conversation not in self._conversations:
                self._conversations.add(conversation)
                self.conversation_ids.append(conversation)

    def _kept(self, ids: pa.Array, dates: pa.Array, windows: list[tuple[Window, int]], bad: dict[int, str]) -> np.ndarray:
        """Which records load: not bad (one without id or date is made bad here), inside its query's
        window and not a repeat of a message seen before in the walk window."""
        at = dates.cast(pa.int64())
        counts = [count for _, count in windows]
        starts, ends = (
            np.repeat(pa.array([getattr(w, edge) for w, _ in windows], TIMESTAMP).cast(pa.int64()).to_numpy(), counts)
            for edge in ("start", "end")
        )
        inside = pc.and_(pc.greater_equal(at, pa.array(starts)), pc.less(at, pa.array(ends))).to_pylist()
        keep = np.zeros(len(ids), np.bool_)
        for index, (message, micros, fits) in enumerate(zip(ids.to_pylist(), at.to_pylist(), inside)):
            if index not in bad:
                if not message:
                    bad[index] = "missing id"
                elif micros is None:
                    bad[index] = "missing date"
            if index in bad or not fits or (message, micros) in self.seen:
                continue
            self.seen.add((message, micros))
            keep[index] = True
        return keep


@dataclass
class SiptraceBatch:
    """What one fetch_window hands on at a time: traces typed a page at a time, header and
    quarantine rows."""

    traces: TablePieces = field(default_factory=lambda: TablePieces(SIPTRACES))
    headers: TableRows = field(default_factory=lambda: TableRows(CONVERSATION_SIP_HEADERS))
    quarantine: TableRows = field(default_factory=lambda: TableRows(QUARANTINE))

    def tables(self) -> Batch:
        return {SIPTRACES.name: self.traces, CONVERSATION_SIP_HEADERS.name: self.headers, QUARANTINE.name: self.quarantine}
