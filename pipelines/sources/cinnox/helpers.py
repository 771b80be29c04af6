"""CINNOX paging (offset/limit inside a startAt/endAt window) and record flattening."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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
    TableRows,
    not_an_object,
    page_columns,
    quarantine_row,
    typed_columns,
)
from pipelines.fetch.redaction import unsigned_url
from pipelines.fetch.windows import Window, iso

from .settings import CALL_DETAIL, CALL_DETAIL_PATH, NAME, RECORDING_EVENTS, RECORDING_FILES, TOO_MANY_REQUESTS


def error_text(response: httpx.Response) -> str:
    """CINNOX errors are `{"code": ..., "message": ...}`."""
    body = response.json()
    return f"{body.get('message', '')} (code {body.get('code')})"


def call_detail_pages(client: VendorClient, app_id: str, window: Window, limit: int) -> Iterator[list[dict[str, Any]]]:
    """Pages of one window. No total and no next link: a short page is the last one.

    The window end is sent as is and records at exactly `end` are dropped by the caller: whether
    CINNOX treats endAt as inclusive is not documented, and this is right either way.
    """
    path = CALL_DETAIL_PATH.format(app_id=app_id)
    offset = 0
    while True:
        params = {"startAt": iso(window.start), "endAt": iso(window.end), "offset": offset, "limit": limit}
        body, _ = client.get_json(path, params=params)
        if not isinstance(body, dict):
            raise VendorError(NAME, f"call-detail answered {type(body).__name__}, expected an object")
        records = body.get("result")
        if records is None:
            raise VendorError(NAME, f"call-detail {window}: {body.get('message', 'no result')} (code {body.get('code')})")
        yield records
        if len(records) < limit:
            return
        offset += limit


def is_throttled(body: object) -> bool:
    """CINNOX may report throttling in the body of an answer that is not a 429 (vendor-apis.md §1)."""
    return isinstance(body, dict) and body.get("result") is None and body.get("code") == TOO_MANY_REQUESTS


class CallDetailFlattener:
    """Turns a page of call-detail records into the three CINNOX tables (and quarantine rows).

    Works column by column (see records.typed_columns); a record with any value that cannot be
    typed, in itself or in its recordings, goes whole to quarantine.
    """

    def __init__(self, keep_url_signatures: bool = False):
        self.keep_url_signatures = keep_url_signatures

    def flatten(self, records: list[Any], window: Window, seen: set[str]) -> Batch:
        quarantine = TableRows(QUARANTINE)
        calls = [r for r in records if isinstance(r, dict)]
        for record in records:
            if not isinstance(record, dict):
                quarantine.add(quarantine_row("call_detail", record, not_an_object(record), window))

        bad: dict[int, str] = {}
        call_values = page_columns(calls, CALL_DETAIL)
        call_columns = typed_columns(CALL_DETAIL, calls, bad, "call", call_values)
        events, event_parent, event_index = _children(calls, call_values, "recordingEventList", bad)
        event_bad: dict[int, str] = {}
        event_values = page_columns(events, RECORDING_EVENTS)
        event_columns = typed_columns(RECORDING_EVENTS, events, event_bad, "recordingEventList", event_values)
        files, file_parent, file_index = _children(events, event_values, "files", event_bad)
        file_bad: dict[int, str] = {}
        file_columns = typed_columns(RECORDING_FILES, files, file_bad, "files")
        for f, reason in file_bad.items():
            event_bad.setdefault(file_parent[f], reason)
        for e, reason in event_bad.items():
            bad.setdefault(event_parent[e], reason)

        starts = call_columns["call_date"]
        in_window = pc.and_(pc.greater_equal(starts, window.start), pc.less(starts, window.end))
        keep = _kept(call_columns["id"].to_pylist(), in_window, bad, seen)
        for index in sorted(bad):
            quarantine.add(quarantine_row("call_detail", calls[index], bad[index], window))

        # Children's parents as index arrays: each child's call is found with one `take`.
        event_call = np.array(event_parent, np.int64)
        file_event = np.array(file_parent, np.int64)
        file_call = event_call[file_event]
        event_columns["call_detail_id"] = call_columns["id"].take(event_call)
        event_columns["event_index"] = pa.array(event_index, pa.int64())
        file_columns["call_detail_id"] = call_columns["id"].take(file_call)
        file_columns["event_index"] = pa.array(np.array(event_index, np.int64)[file_event], pa.int64())
        file_columns["file_index"] = pa.array(file_index, pa.int64())
        if not self.keep_url_signatures:
            file_columns["download_url"] = pa.array(
                [unsigned_url(u) for u in file_columns["download_url"].to_pylist()], pa.string()
            )
        return {
            CALL_DETAIL.name: pa.table(call_columns).filter(pa.array(keep)),
            RECORDING_EVENTS.name: pa.table(event_columns).filter(pa.array(keep[event_call])),
            RECORDING_FILES.name: pa.table(file_columns).filter(pa.array(keep[file_call])),
            QUARANTINE.name: quarantine,
        }


def _kept(ids: list[Any], in_window: pa.Array, bad: dict[int, str], seen: set[str]) -> np.ndarray:
    """Which calls of the page load: not bad (a call without id or callDate is made bad here, in
    page order), inside [start, end) (a boundary record of the next window is not) and not seen
    before in this window (offset paging over a list that grew while we read it repeats some)."""
    inside = in_window.to_pylist()
    if not bad and in_window.null_count == 0 and all(ids):
        # The usual page: only the window and repeats decide; checked as sets when no id repeats.
        candidates = [call_id for call_id, keep in zip(ids, inside) if keep]
        fresh = set(candidates)
        if len(fresh) == len(candidates) and seen.isdisjoint(fresh):
            seen.update(fresh)
            return np.array(inside, np.bool_)
    keep = np.zeros(len(ids), np.bool_)
    for index, call_id in enumerate(ids):
        if index not in bad:
            if not call_id:
                bad[index] = "missing id"
            elif inside[index] is None:
                bad[index] = "missing callDate"
        if index in bad or not inside[index] or call_id in seen:
            continue
        seen.add(call_id)
        keep[index] = True
    return keep


def _children(
    parents: list[dict[str, Any]], values: dict[str, Any], field: str, bad: dict[int, str]
) -> tuple[list[dict[str, Any]], list[int], list[int]]:
    """The objects of each parent's list `field`, with their parent's index and their position.
    `values` is `page_columns(parents, ...)`, which holds the lists when every parent has the field."""
    lists = values[field] if field in values else [parent.get(field) for parent in parents]
    children: list[Any] = []
    parent_of: list[int] = []
    position: list[int] = []
    for index, items in enumerate(lists):
        if not items:
            continue
        if not isinstance(items, list):
            break
        # Whole lists at a time; whether they hold only objects is checked once below.
        children.extend(items)
        parent_of.extend([index] * len(items))
        position.extend(range(len(items)))
    else:
        if all(isinstance(child, dict) for child in children):
            return children, parent_of, position
    return _children_one_by_one(lists, field, bad)


def _children_one_by_one(
    lists: Sequence[Any], field: str, bad: dict[int, str]
) -> tuple[list[dict[str, Any]], list[int], list[int]]:
    """`_children` of a page where some parent's `field` is not a list of objects: that parent is
    bad (the first fault in page order is its reason), the objects are still typed."""
    children, parent_of, position = [], [], []
    for index, items in enumerate(lists):
        if not items:
            continue
        if not isinstance(items, list):
            bad.setdefault(index, f"{field} is not a list")
            continue
        for at, item in enumerate(items):
            if isinstance(item, dict):
                children.append(item)
                parent_of.append(index)
                position.append(at)
            else:
                bad.setdefault(index, f"{field}[{at}] is not an object")
    return children, parent_of, position
