"""Bandwidth (Catapult v1) calls as a dlt source: `bandwidth.calls` and `calls__sip_headers`."""
from __future__ import annotations

import base64
from typing import Any, Iterator

import dlt
import httpx
import pendulum

from pipelines.extract import Checkpoint, WindowWalk, default_nightly_start
from pipelines.http import VendorClient
from pipelines.load_state import SourceLedger
from pipelines.tables import QUARANTINE
from pipelines.windows import Window, parse_duration, parse_instant

from .helpers import CallFlattener, CallPager, error_text, rate_limit_wait
from .open_calls import OpenCallWatch
from .settings import (
    CALLS, CHILD_TABLES, DEFAULT_BASE_URL, DEFAULT_LOOKBACK, DEFAULT_REQUESTS_PER_SECOND, DEFAULT_WINDOW,
    MAX_PAGE_SIZE, SIP_HEADERS,
)

NAME = "bandwidth"
SPECS = {s.name: s for s in (CALLS, SIP_HEADERS, QUARANTINE)}
REQUIRED = ("user_id", "api_token", "api_secret")
__all__ = ["NAME", "SPECS", "CHILD_TABLES", "bandwidth"]


@dlt.source(name=NAME, section=NAME)
def bandwidth(
    request: Any,
    stats: Any,
    progress: Any,
    base_url: str = DEFAULT_BASE_URL,
    user_id: str = dlt.config.value,
    api_token: str = dlt.secrets.value,
    api_secret: str = dlt.secrets.value,
    start_date: str | None = None,
    lookback: str = DEFAULT_LOOKBACK,
    window: str = DEFAULT_WINDOW,
    page_size: int = MAX_PAGE_SIZE,
    requests_per_second: float | None = DEFAULT_REQUESTS_PER_SECOND,
    max_retries: int = 8,
    checkpoint_rows: int = Checkpoint.rows,
    checkpoint_seconds: float = Checkpoint.seconds,
) -> Any:
    basic_credential = base64.b64encode(f"{api_token}:{api_secret}".encode()).decode()
    client = VendorClient(
        vendor=NAME,
        base_url=base_url,
        auth=httpx.BasicAuth(api_token, api_secret),
        # 0 or none turns client-side pacing off (429s are still honoured).
        requests_per_second=float(requests_per_second) if requests_per_second else None,
        wait_hint=rate_limit_wait,
        max_retries=int(max_retries),
        error_text=error_text,
        auth_hint="SOURCES__BANDWIDTH__API_TOKEN, SOURCES__BANDWIDTH__API_SECRET and SOURCES__BANDWIDTH__USER_ID",
        secrets=(api_secret, api_token, basic_credential),
    )
    pager = CallPager(client, user_id, max(1, min(int(page_size), MAX_PAGE_SIZE)))
    flattener = CallFlattener(redact=client.redact)
    open_calls = OpenCallWatch(request)
    sync_stats = stats.request_counter(client)

    # Ids already read in this run: a call inserted into the past shifts the list under the
    # pages, so the last call of one page can come again first on the next.
    seen: set[str] = set()

    def fetch_window(w: Window) -> Iterator[dict]:
        pages_before = pager.pages_read
        for listed in pager.calls_in(w):
            stats.pages += pager.pages_read - pages_before
            pages_before = pager.pages_read
            sync_stats()
            batch = flattener.flatten(listed, w, seen)
            open_calls.note(batch[CALLS.name])
            stats.quarantined += len(batch[QUARANTINE.name])
            yield batch
        stats.pages += pager.pages_read - pages_before
        sync_stats()
        open_calls.window_read(w)

    request_end: pendulum.DateTime = request.end
    lookback_start = default_nightly_start(
        request_end,
        parse_duration(lookback, "SOURCES__BANDWIDTH__LOOKBACK"),
        parse_instant(start_date, "SOURCES__BANDWIDTH__START_DATE") if start_date else None,
    )

    def nightly_start(ledger: SourceLedger) -> pendulum.DateTime:
        # Cursor minus lookback, and no later than the oldest call still open.
        start = lookback_start(ledger)
        pager.attach(ledger.state)
        oldest_open = open_calls.attach(ledger)
        return min(start, oldest_open) if oldest_open else start

    walk = WindowWalk(
        request=request,
        window_size=parse_duration(window, "SOURCES__BANDWIDTH__WINDOW"),
        nightly_start=nightly_start,
        fetch_window=fetch_window,
        specs=SPECS,
        stats=stats,
        progress=progress,
        checkpoint=Checkpoint(rows=int(checkpoint_rows), seconds=float(checkpoint_seconds)),
    )

    @dlt.resource(name=CALLS.name, write_disposition="merge", primary_key="id")
    def calls() -> Iterator[Any]:
        try:
            yield from walk
        finally:
            stats.notices.extend(pager.seeks)
            client.close()

    return calls
