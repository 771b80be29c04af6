"""CINNOX paging (offset/limit inside a startAt/endAt window) and record flattening."""
from __future__ import annotations

import time
from typing import Any, Iterator

import httpx

from pipelines.errors import VendorError
from pipelines.extract import Batch
from pipelines.http import VendorClient
from pipelines.redaction import unsigned_url
from pipelines.tables import QUARANTINE, BadRecord, TableRows, quarantine_row, typed_row
from pipelines.windows import Window, iso

from .settings import CALL_DETAIL, CALL_DETAIL_PATH, RECORDING_EVENTS, RECORDING_FILES, TOO_MANY_REQUESTS


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
    offset, throttled = 0, 0
    while True:
        params = {"startAt": iso(window.start), "endAt": iso(window.end), "offset": offset, "limit": limit}
        body, _ = client.get_json(path, params=params)
        if not isinstance(body, dict):
            raise VendorError("cinnox", f"call-detail answered {type(body).__name__}, expected an object")
        records = body.get("result")
        if records is None:
            if body.get("code") == TOO_MANY_REQUESTS and throttled < client.max_retries:
                # Throttling reported in the body of a non-429 answer: back off and ask again.
                throttled += 1
                client.stats.add(throttled=1)
                time.sleep(min(30.0, 2.0**throttled))
                continue
            raise VendorError("cinnox", f"call-detail {window}: {body.get('message', 'no result')} (code {body.get('code')})")
        yield records
        if len(records) < limit:
            return
        offset += limit


class CallDetailFlattener:
    """Turns call-detail records into rows of the three CINNOX tables (and quarantine rows)."""

    def __init__(self, keep_url_signatures: bool = False):
        self.keep_url_signatures = keep_url_signatures

    def flatten(self, records: list[Any], window: Window, seen: set[str]) -> Batch:
        calls, events, files, quarantine = (TableRows(s) for s in (CALL_DETAIL, RECORDING_EVENTS, RECORDING_FILES, QUARANTINE))
        for record in records:
            try:
                rows = self._record_rows(record)
            except BadRecord as exc:
                quarantine.add(quarantine_row("call_detail", record, str(exc), window))
                continue
            if rows is None:
                continue
            call, call_events, call_files = rows
            if not window.contains(call["call_date"]) or call["id"] in seen:
                # Outside [start, end) (boundary record of the next window) or a repeat from
                # offset paging over a list that grew while we read it.
                continue
            seen.add(call["id"])
            calls.add(call)
            events.extend(call_events)
            files.extend(call_files)
        return {CALL_DETAIL.name: calls, RECORDING_EVENTS.name: events, RECORDING_FILES.name: files, QUARANTINE.name: quarantine}

    def _record_rows(self, record: Any) -> tuple[dict, list[dict], list[dict]] | None:
        if not isinstance(record, dict):
            raise BadRecord(f"record is {type(record).__name__}, not an object")
        call = typed_row(record, CALL_DETAIL, "call")
        call_id = call.get("id")
        if not call_id:
            raise BadRecord("missing id")
        if call.get("call_date") is None:
            raise BadRecord("missing callDate")
        events, files = [], []
        event_list = record.get("recordingEventList") or []
        if not isinstance(event_list, list):
            raise BadRecord("recordingEventList is not a list")
        for e_index, event in enumerate(event_list):
            if not isinstance(event, dict):
                raise BadRecord(f"recordingEventList[{e_index}] is not an object")
            row = typed_row(event, RECORDING_EVENTS, f"recordingEventList[{e_index}]")
            row["call_detail_id"], row["event_index"] = call_id, e_index
            events.append(row)
            file_list = event.get("files") or []
            if not isinstance(file_list, list):
                raise BadRecord(f"recordingEventList[{e_index}].files is not a list")
            for f_index, file in enumerate(file_list):
                if not isinstance(file, dict):
                    raise BadRecord(f"recordingEventList[{e_index}].files[{f_index}] is not an object")
                frow = typed_row(file, RECORDING_FILES, f"recordingEventList[{e_index}].files[{f_index}]")
                if not self.keep_url_signatures:
                    frow["download_url"] = unsigned_url(frow.get("download_url"))
                frow["call_detail_id"], frow["event_index"], frow["file_index"] = call_id, e_index, f_index
                files.append(frow)
        return call, events, files
