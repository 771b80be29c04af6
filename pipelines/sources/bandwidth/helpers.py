"""Bandwidth paging (seek by binary search on page numbers, then follow `next`) and flattening."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pyarrow as pa

from pipelines.errors import VendorError
from pipelines.fetch.http import VendorClient
from pipelines.fetch.records import (
    QUARANTINE,
    BadRecord,
    Batch,
    TableRows,
    as_text,
    as_timestamp,
    not_an_object,
    quarantine_row,
    typed_columns,
)
from pipelines.fetch.windows import Window, iso, parse_instant

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
    has_next: bool  # the `next` link says whether there is a next page, not which URL to trust
    last_number: int | None  # from the `last` link: the page count is last_number + 1

    def reaches(self, instant: datetime) -> bool:
        """Does this page hold a call starting at or after `instant`? An empty page (past the
        end) or one with no readable startTime says yes: erring left only costs a page."""
        starts = [c.start for c in self.calls if c.start is not None]
        return not starts or starts[-1] >= instant


class PageIndex:
    """First and last call start of the pages read lately, kept in source state.

    A seek for a start inside an indexed page reads that page directly: the next checkpoint of a
    run, and the next nightly run (its start is cursor - lookback, inside pages the last run
    read), cost no requests beyond the pages they load. The index is only a hint: the page is
    used when its first call starts before the range (so no earlier page holds one of ours), else
    the seek falls back to the binary search. Calls inserted into the past shift pages forward,
    which at worst costs following `next` once more.
    """

    KEY = "page_index"
    LIMIT = 256  # pages remembered (the newest): a few days of a busy account at 1000 per page

    def __init__(self, state: dict[str, Any], page_size: int):
        index = state.get(self.KEY)
        if not isinstance(index, dict) or index.get("size") != page_size:
            index = state[self.KEY] = {"size": page_size, "pages": {}}
        self.pages: dict[str, list[str]] = index["pages"]  # page number (text: JSON) -> [first, last]

    def note(self, page: Page) -> None:
        starts = [c.start for c in page.calls if c.start is not None]
        if not starts:
            return
        self.pages[str(page.number)] = [iso(starts[0]), iso(starts[-1])]
        if len(self.pages) > self.LIMIT:
            for number in sorted(self.pages, key=int)[: len(self.pages) - self.LIMIT]:
                del self.pages[number]

    def pages_between(self, earlier: datetime, later: datetime) -> int | None:
        """Pages a read from `earlier` adds to one from `later`: an estimate from the index (an
        instant before every indexed page counts from page 0, an upper bound); None without one."""
        later_page = self.page_before(later)
        if later_page is None:
            return None
        earlier_page = self.page_before(earlier)
        return later_page - (earlier_page if earlier_page is not None else 0)

    def page_before(self, start: datetime) -> int | None:
        """The highest indexed page whose first call starts before `start`."""
        before = [int(n) for n, (first, _) in self.pages.items() if parse_instant(first) < start]
        return max(before) if before else None


class CallPager:
    """The call list in ascending startTime order, served window after window.

    There is no date filter, so the first page of a range is found by binary search on the page
    number (page 0's `last` link gives the page count): 1 + ceil(log2(pages)) requests. From
    there pages are read by number while the `Link` header has a `next`, and the position (page + unserved calls of a page that
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
        self.next_page: int | None = None  # the page to read after the buffer, None at the end
        self.last_read: Page | None = None  # the page read before the next one (order check)
        self.probed: dict[int, Page] = {}  # pages past the seek's target, read while searching
        self.pages_read = 0  # pages whose calls were served (the seek's probes are not counted)
        self.seeks: list[str] = []  # one line per seek, for the run summary
        self.index: PageIndex | None = None

    def attach(self, state: dict[str, Any]) -> PageIndex:
        """Use and keep up the page index in this source state (committed with each window)."""
        index = self.index = PageIndex(state, self.page_size)
        return index

    def call(self, call_id: str) -> Any | None:
        """One call by id (`GET /calls/{id}`, Catapult v1's call information); None when the
        vendor no longer knows it (404)."""
        try:
            body, _ = self.client.get_json(f"{self.path}{call_id}")
        except VendorError as exc:
            if exc.status == 404:
                return None
            raise
        return body

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
                if head.start is not None and self.floor is not None and head.start < self.floor:
                    continue  # out of order and before the range
                chunk.append(head)
            if chunk:
                yield chunk
                chunk = []
            if self.next_page is None:
                return
            page = self._follow(self.next_page)
            self.pages_read += 1
            self.buffer.extend(page.calls)
            self.next_page = page.number + 1 if page.has_next else None

    def _follow(self, number: int) -> Page:
        """The next page, asked for by number with our own size and order (real `next` links may
        carry only `page` and `size`, and the API's default order is descending); one the seek
        already read (the search probes inside the range) is not asked for again: pages of an
        ascending list only grow at its end."""
        page = self.probed.pop(number, None) or self._page(number)
        self._check_order(page)
        return page

    def _check_order(self, page: Page) -> None:
        """Stop when a page starts before the page read ahead of it ends: walking a list in an
        order it is not in would skip calls of the range and still end without an error."""
        previous, self.last_read = self.last_read, page
        starts = [c.start for c in page.calls if c.start is not None]
        before = [c.start for c in previous.calls if c.start is not None] if previous else []
        if starts and previous is not None and before and starts[-1] < before[-1]:
            raise _not_ascending(page.number, f" after page {previous.number}")

    def _seek(self, start: datetime) -> None:
        requests_before = self.client.stats.requests
        probed: dict[int, Page] = {}
        target, how = self._seek_by_index(start), "page index"
        if target is None:
            (target, probed), how = self._search(start), "binary search"
        self.probed = {n: p for n, p in probed.items() if n > target.number}
        self.floor = start
        self.buffer = deque(c for c in target.calls if c.start is None or c.start >= start)
        self.next_page = target.number + 1 if target.has_next else None
        self.last_read = target
        self.pages_read += 1
        spent = self.client.stats.requests - requests_before
        self.seeks.append(f"found {iso(start)} on page {target.number} in {spent} requests ({how})")

    def _seek_by_index(self, start: datetime) -> Page | None:
        number = self.index.page_before(start) if self.index is not None else None
        if number is None:
            return None
        page = self._page(number)
        starts = [c.start for c in page.calls if c.start is not None]
        if not starts or starts[0] >= start:
            return None  # the list changed under the index: search
        # Nothing before this page reaches `start`; go on until a page does (or the list ends).
        while not page.reaches(start) and page.has_next:
            page = self._page(page.number + 1)
        return page

    def _search(self, start: datetime) -> tuple[Page, dict[int, Page]]:
        """Binary search on page numbers for the first page that reaches `start`; also the pages
        it read on the way."""
        first = self._page(0)
        probed = {0: first}
        if first.reaches(start) or not first.has_next:
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
        return target, probed

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
            if not page.has_next:
                return number + 1, number + 1
            lo, number = number + 1, number * 2

    def _page(self, number: int) -> Page:
        """Page `number`, always with our size and ascending order (never a URL from a link)."""
        params = {"page": number, "size": self.page_size, "sortOrder": "asc"}
        body, response = self.client.get_json(self.path, params=params)
        if not isinstance(body, list):
            raise VendorError("bandwidth", f"calls answered {type(body).__name__}, expected a list")
        links = response.links
        has_next = bool(body) and "next" in links  # an empty page ends the list
        page = Page(number, [listed_call(r) for r in body], has_next, _page_number(links.get("last", {}).get("url")))
        starts = [c.start for c in page.calls if c.start is not None]
        if any(later < earlier for earlier, later in zip(starts, starts[1:])):
            raise _not_ascending(number, "")
        if self.index is not None:
            self.index.note(page)
        return page


def _not_ascending(number: int, where: str) -> VendorError:
    return VendorError(
        "bandwidth",
        f"page {number} of the call list is not in ascending startTime order{where}: the API did not honour "
        "sortOrder=asc; stopping so that no call of the range is skipped",
    )


def _page_number(url: str | None) -> int | None:
    if not url:
        return None
    try:
        return int(httpx.URL(url).params.get("page", ""))
    except ValueError:
        return None


class CallFlattener:
    """Turns listed calls into `calls`, `calls__sip_headers` and quarantine rows.

    Works column by column (see records.typed_columns); a record with any value that cannot be
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
                self._quarantine(quarantine, item.record, not_an_object(item.record), window)

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
