"""Bandwidth paging (seek by binary search on page numbers, then follow `next`) and flattening."""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterator

import httpx
import pyarrow as pa

from pipelines.errors import VendorError
from pipelines.extract import Batch
from pipelines.http import VendorClient
from pipelines.tables import QUARANTINE, BadRecord, TableRows, as_text, as_timestamp, quarantine_row, typed_columns
from pipelines.windows import Window, iso

from .settings import CALLS, CALLS_PATH, MAX_RATE_LIMIT_WAIT_S, SIP_HEADERS


def error_text(response: httpx.Response) -> str:
    """Bandwidth errors are `{category, code, message, details: [{name, value}]}`."""
    body = response.json()
    return f"{body.get('message', '')} ({body.get('code') or body.get('category')})"


def rate_limit_wait(response: httpx.Response) -> float | None:
    """Seconds until the limit resets. Bandwidth's 429 has no Retry-After: `X-RateLimit-Reset` is
    an epoch in MILLISECONDS."""
    value = response.headers.get("X-RateLimit-Reset")
    try:
        reset_s = float(value) / 1000.0 if value is not None else None
    except ValueError:
        return None
    if reset_s is None:
        return None
    return min(MAX_RATE_LIMIT_WAIT_S, max(0.0, reset_s - time.time()))


@dataclass(frozen=True)
class ListedCall:
    """A record as listed, with its startTime when it can be read (None: it cannot be placed)."""

    start: datetime | None
    record: Any


def listed_call(record: Any) -> ListedCall:
    start = None
    if isinstance(record, dict):
        try:
            start = as_timestamp(record.get("startTime"), "startTime")
        except BadRecord:
            pass
    return ListedCall(start, record)


@dataclass
class Page:
    number: int
    calls: list[ListedCall]
    next_url: str | None
    last_number: int | None  # from the `last` link: the page count is last_number + 1

    def reaches(self, instant: datetime) -> bool:
        """Does this page hold a call starting at or after `instant`? An empty page (past the
        end) or one with no readable startTime says yes: erring left only costs a page."""
        starts = [c.start for c in self.calls if c.start is not None]
        return not starts or starts[-1] >= instant


class CallPager:
    """The call list in ascending startTime order, served window after window.

    There is no date filter, so the first page of a range is found by binary search on the page
    number (page 0's `last` link gives the page count): 1 + ceil(log2(pages)) requests. From
    there `next` links are followed, and the position (page + unserved calls of a page that
    straddles a window end) carries over to the next window, so consecutive windows cost no
    extra requests. Ascending order keeps pages stable while the list grows: new calls land at
    the end.
    """

    def __init__(self, client: VendorClient, user_id: str, page_size: int):
        self.client = client
        self.path = CALLS_PATH.format(user_id=user_id)
        self.page_size = page_size
        self.position: datetime | None = None  # where the next window must start to go on reading
        self.floor: datetime | None = None  # start of the range being read: earlier calls are not ours
        self.buffer: deque[ListedCall] = deque()
        self.next_url: str | None = None
        self.probed: dict[int, Page] = {}  # pages past the seek's target, read while searching
        self.pages_read = 0  # pages whose calls were served (the seek's probes are not counted)
        self.seeks: list[str] = []  # one line per seek, for the run summary

    def calls_in(self, window: Window) -> Iterator[list[ListedCall]]:
        """The listed calls of `window`, one list per vendor page (or part of one)."""
        if self.position is None or window.start != self.position:
            self._seek(window.start)
        self.position = window.end
        chunk: list[ListedCall] = []
        while True:
            while self.buffer:
                head = self.buffer[0]
                if head.start is not None and head.start >= window.end:
                    if chunk:
                        yield chunk
                    return  # this call opens a later window: keep it buffered
                self.buffer.popleft()
                if head.start is not None and head.start < self.floor:
                    continue  # out of order and before the range
                chunk.append(head)
            if chunk:
                yield chunk
                chunk = []
            if self.next_url is None:
                return
            page = self._follow(self.next_url)
            self.pages_read += 1
            self.buffer.extend(page.calls)
            self.next_url = page.next_url

    def _follow(self, next_url: str) -> Page:
        """The `next` page; one the seek already read (the search probes inside the range) is
        not asked for again: pages of an ascending list only grow at its end."""
        same_size = httpx.URL(next_url).params.get("size") == str(self.page_size)
        probed = self.probed.pop(_page_number(next_url), None) if same_size else None
        return probed if probed is not None else self._page_at(next_url, None)

    def _seek(self, start: datetime) -> None:
        requests_before = self.client.stats.requests
        first = self._page(0)
        probed = {0: first}
        if first.reaches(start) or first.next_url is None:
            target = first
        else:
            lo, hi = self._bounds(first, start, probed)
            # Invariant: pages < lo end before `start`; page hi (or "none", hi = page count) reaches it.
            while lo < hi:
                mid = (lo + hi) // 2
                probed[mid] = page = probed.get(mid) or self._page(mid)
                if page.reaches(start):
                    hi = mid
                else:
                    lo = mid + 1
            # Every page but the last ends before `start`: read on from the last one, in case
            # the list grew since.
            target = probed[lo] if lo in probed else probed[max(probed)]
        self.probed = {n: p for n, p in probed.items() if n > target.number}
        self.floor = start
        self.buffer = deque(c for c in target.calls if c.start is None or c.start >= start)
        self.next_url = target.next_url
        self.pages_read += 1
        spent = self.client.stats.requests - requests_before
        count = f" of {first.last_number + 1}" if first.last_number is not None else ""
        self.seeks.append(f"found {iso(start)} on page {target.number}{count} in {spent} requests")

    def _bounds(self, first: Page, start: datetime, probed: dict[int, Page]) -> tuple[int, int]:
        """Where the binary search starts: pages 1 .. page count, from page 0's `last` link.
        Without one, gallop (1, 2, 4, ...) until a page reaches `start` or the list ends."""
        if first.last_number is not None:
            return 1, first.last_number + 1
        lo, number = 1, 1
        while True:
            probed[number] = page = self._page(number)
            if page.reaches(start):
                return lo, number
            if page.next_url is None:
                return number + 1, number + 1
            lo, number = number + 1, number * 2

    def _page(self, number: int) -> Page:
        params = {"page": number, "size": self.page_size, "sortOrder": "asc"}
        return self._page_at(self.path, params, number)

    def _page_at(self, url: str, params: dict[str, Any] | None, number: int | None = None) -> Page:
        if params is None:
            self._check_origin(url)
        body, response = self.client.get_json(url, params=params)
        if not isinstance(body, list):
            raise VendorError("bandwidth", f"calls answered {type(body).__name__}, expected a list")
        links = response.links
        next_url = links.get("next", {}).get("url") if body else None  # an empty page ends the list
        if number is None:
            number = _page_number(str(response.request.url))
        return Page(number, [listed_call(r) for r in body], next_url, _page_number(links.get("last", {}).get("url")))

    def _check_origin(self, url: str) -> None:
        # A `next` link on another host would get our basic-auth header: refuse rather than leak.
        link, base = httpx.URL(url), httpx.URL(str(self.client.base_url))
        if link.is_absolute_url and (link.scheme, link.host, link.port) != (base.scheme, base.host, base.port):
            raise VendorError("bandwidth", f"next link points to another host ({link.host}); refusing to send credentials there")


def _page_number(url: str | None) -> int | None:
    if not url:
        return None
    try:
        return int(httpx.URL(url).params.get("page", ""))
    except ValueError:
        return None


class CallFlattener:
    """Turns listed calls into `calls`, `calls__sip_headers` and quarantine rows.

    Works column by column (see tables.typed_columns); a record with any value that cannot be
    typed, in itself or in its headers, goes whole to quarantine.
    """

    def __init__(self, redact: Callable[[str], str] = lambda s: s):
        self.redact = redact

    def flatten(self, listed: list[ListedCall], window: Window, seen: set[str]) -> Batch:
        quarantine = TableRows(QUARANTINE)
        records = []
        for item in listed:
            if isinstance(item.record, dict):
                records.append(item.record)
            else:
                self._quarantine(quarantine, item.record, f"record is {type(item.record).__name__}, not an object", window)

        bad: dict[int, str] = {}
        call_columns = typed_columns(CALLS, records, bad, "call")
        header_call, names, values = sip_header_rows(records, bad)

        ids = call_columns["id"].to_pylist()
        no_start = call_columns["start_time"].is_null().to_pylist()
        keep = []
        for index, call_id in enumerate(ids):
            if index not in bad:
                if not call_id:
                    bad[index] = "missing id"
                elif no_start[index]:
                    bad[index] = "missing startTime"
            if index in bad:
                self._quarantine(quarantine, records[index], bad[index], window)
                keep.append(False)
            elif call_id in seen:
                keep.append(False)  # listed twice in one read: the list moved between pages
            else:
                seen.add(call_id)
                keep.append(True)

        header_columns = {
            "call_id": pa.array([ids[c] for c in header_call], pa.string()),
            "name": pa.array(names, pa.string()),
            "value": pa.array(values, pa.string()),
        }
        return {
            CALLS.name: pa.table(call_columns).filter(pa.array(keep, pa.bool_())),
            SIP_HEADERS.name: pa.table(header_columns).filter(pa.array([keep[c] for c in header_call], pa.bool_())),
            QUARANTINE.name: quarantine,
        }

    def _quarantine(self, rows: TableRows, record: Any, reason: str, window: Window) -> None:
        rows.add(quarantine_row(CALLS.name, record, reason, window, self.redact))


def sip_header_rows(records: list[dict[str, Any]], bad: dict[int, str]) -> tuple[list[int], list[str], list[str | None]]:
    """`sipHeaders` maps -> one (call index, name, value) per header: a map handed to dlt would
    become one column per header name."""
    call_of, names, values = [], [], []
    for index, record in enumerate(records):
        headers = record.get("sipHeaders")
        if headers is None:
            continue
        if not isinstance(headers, dict):
            bad.setdefault(index, f"sipHeaders is {type(headers).__name__}, not an object")
            continue
        for name, value in headers.items():
            try:
                text = as_text(value, f"call.sipHeaders.{name}")
            except BadRecord as exc:
                bad.setdefault(index, str(exc))
                continue
            call_of.append(index)
            names.append(name)
            values.append(text)
    return call_of, names, values
