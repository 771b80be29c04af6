"""Bandwidth (Catapult v1) calls as a dlt source: `bandwidth.calls` and `calls__sip_headers`."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import dlt
import httpx
import pendulum

from pipelines.extract.context import RunContext
from pipelines.extract.ledger import SourceLedger
from pipelines.extract.walk import Checkpoint, WalkSettings
from pipelines.fetch.http import VendorClient
from pipelines.fetch.records import QUARANTINE, Batch
from pipelines.fetch.retry import RetryPolicy
from pipelines.fetch.windows import Window
from pipelines.sources.vendor import Vendor

from .helpers import CallFlattener, CallPager, error_text, rate_limit_wait
from .open_calls import OpenCallWatch
from .settings import (
    CALLS,
    CHILD_TABLES,
    DEFAULT_BASE_URL,
    DEFAULT_LOOKBACK,
    DEFAULT_REQUESTS_PER_SECOND,
    DEFAULT_WINDOW,
    MAX_PAGE_SIZE,
    NAME,
    SIP_HEADERS,
)

TABLES = (CALLS, SIP_HEADERS, QUARANTINE)


@dlt.source(name=NAME, section=NAME)
def bandwidth(
    run: RunContext,
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
    settings = WalkSettings.parse(NAME, window, lookback, start_date, checkpoint_rows, checkpoint_seconds)
    basic_credential = base64.b64encode(f"{api_token}:{api_secret}".encode()).decode()
    client = VendorClient(
        vendor=NAME,
        base_url=base_url,
        auth=httpx.BasicAuth(api_token, api_secret),
        # 0 or none turns client-side pacing off (429s are still honoured).
        requests_per_second=float(requests_per_second) if requests_per_second else None,
        wait_hint=rate_limit_wait,
        retry=RetryPolicy(max_retries=int(max_retries)),
        error_text=error_text,
        auth_hint=f"{VENDOR.setting('api_token')}, {VENDOR.setting('api_secret')} and {VENDOR.setting('user_id')}",
        secrets=(api_secret, api_token, basic_credential),
    )
    pager = CallPager(client, user_id, max(1, min(int(page_size), MAX_PAGE_SIZE)))
    flattener = CallFlattener(redact=client.redact)
    open_calls = OpenCallWatch(run.request)
    stats = run.stats
    sync_stats = stats.request_counter(client)

    # Ids already read in this run: a call inserted into the past shifts the list under the
    # pages, so the last call of one page can come again first on the next.
    seen: set[str] = set()

    def fetch_window(w: Window) -> Iterator[Batch]:
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

    lookback_start = run.nightly_start(settings)

    def nightly_start(ledger: SourceLedger) -> pendulum.DateTime:
        # Cursor minus lookback, and no later than the oldest call still open.
        start = lookback_start(ledger)
        pager.attach(ledger.state)
        oldest_open = open_calls.attach(ledger)
        return min(start, oldest_open) if oldest_open else start

    walk = run.walk(settings, fetch_window, TABLES, nightly_start=nightly_start)

    @dlt.resource(name=CALLS.name, write_disposition="merge", primary_key="id")
    def calls() -> Iterator[Any]:
        try:
            yield from walk
        finally:
            stats.notices.extend(pager.seeks)
            client.close()

    return calls


VENDOR = Vendor(name=NAME, source=bandwidth, tables=TABLES, child_tables=CHILD_TABLES)
