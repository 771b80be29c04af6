"""Genesys siptraces: capped (unpaged) queries split until complete, and record flattening."""

from __future__ import annotations

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
    truncated: list[tuple[Window, int]] = field(default_factory=list)


def ms_halves(window: Window, min_ms: int) -> tuple[Window, Window] | None:
    """Window.halves() with the middle on a whole millisecond (all dateStart/dateEnd can say);
    None when a half would be narrower than `min_ms`."""
    span_ms = (window.end - window.start).total_seconds() * 1000
    if span_ms < 2 * max(1, min_ms):
        return None
    first, _ = window.halves()
    middle = first.end.replace(microsecond=first.end.microsecond // 1000 * 1000)
    return Window(window.start, middle), Window(middle, window.end)


def siptrace_results(
    client: VendorClient, window: Window, cap: int, min_ms: int, report: SplitReport
) -> Iterator[tuple[Window, list[Any]]]:
    """(window, records) for queries that returned fewer than `cap` rows, covering `window`.

    Vendor quirk: siptraces is not paged and silently stops at a result cap, so a full answer
    means "maybe more". A full window is split in two and both halves are asked again (its rows
    are dropped: which rows the cap kept is not documented). A full window that cannot be split
    (narrower than 2 x min_ms) is yielded as it came and recorded as truncated.
    """
    pending = [window]
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
    """HomerRecords -> `siptraces` rows of one walk window (and quarantine rows), a page at a time,
    typed column by column (records.typed_columns): a record with a value that cannot be typed goes
    whole to quarantine.

    Rows outside the query window are dropped (whether dateEnd is inclusive is not documented,
    and the boundary record belongs to the next window), as are repeats of a message (id and time)
    already seen in this walk window.
    """

    def __init__(self, walk_window: Window):
        self.walk_window = walk_window
        self.seen: set[tuple[str, int]] = set()  # (id, date in microseconds)
        self.conversation_ids: list[str] = []  # in first-seen order
        self._conversations: set[str] = set()

    def flatten(self, records: Iterable[Any], window: Window, traces: TablePieces, quarantine: TableRows) -> None:
        records = list(records)
        objects = [record for record in records if isinstance(record, dict)]
        for record in records:
            if not isinstance(record, dict):
                quarantine.add(quarantine_row(SIPTRACES.name, record, not_an_object(record), self.walk_window))
        if not objects:
            return
        bad: dict[int, str] = {}
        columns = typed_columns(SIPTRACES, objects, bad, "siptrace")
        keep = self._kept(columns["id"], columns["date"], window, bad)
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

    def _kept(self, ids: pa.Array, dates: pa.Array, window: Window, bad: dict[int, str]) -> np.ndarray:
        """Which records of the page load: not bad (one without id or date is made bad here), inside
        the query window and not a repeat of a message seen before in the walk window."""
        inside = pc.and_(pc.greater_equal(dates, window.start), pc.less(dates, window.end)).to_pylist()
        keep = np.zeros(len(ids), np.bool_)
        for index, (message, at, fits) in enumerate(zip(ids.to_pylist(), dates.cast(pa.int64()).to_pylist(), inside)):
            if index not in bad:
                if not message:
                    bad[index] = "missing id"
                elif at is None:
                    bad[index] = "missing date"
            if index in bad or not fits or (message, at) in self.seen:
                continue
            self.seen.add((message, at))
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
