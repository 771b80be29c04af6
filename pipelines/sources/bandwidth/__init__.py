"""Bandwidth (Catapult v1) calls as a dlt source: `bandwidth.calls` and `calls__sip_headers`."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import dlt
import httpx
import pendulum
from dlt.extract import DltResource
from dlt.extract.items import DataItemWithMeta

from pipelines.extract.context import RunContext
from pipelines.extract.ledger import SourceLedger
from pipelines.fetch.http import VendorClient
from pipelines.fetch.records import QUARANTINE, Batch
from pipelines.fetch.windows import Window, parse_duration
from pipelines.settings import credential, rate, whole_number
from pipelines.sources.vendor import Pacing, Vendor

from .helpers import CallFlattener, CallPager, ListedCall, error_text, listed_call, rate_limit_wait
from .open_calls import OpenCallWatch
from .outcomes import OUTCOMES
from .settings import (
    CALLS,
    CHILD_TABLES,
    DEFAULT_REQUESTS_PER_SECOND,
    MAX_PAGE_SIZE,
    NAME,
    PERSONAL_DATA,
    SIP_HEADERS,
    BandwidthSettings,
)

TABLES = (CALLS, SIP_HEADERS, QUARANTINE)


@dlt.source(name=NAME, section=NAME, spec=BandwidthSettings)
def bandwidth(
    run: RunContext,
    # dlt injects the settings into the argument annotated with exactly the spec class
    config: BandwidthSettings = None,  # type: ignore[assignment]
) -> DltResource:
    settings, name = config.walk(), config.name
    horizon = parse_duration(config.open_call_horizon, name("open_call_horizon"))
    user_id = credential(config.user_id, name("user_id"))
    api_token, api_secret = credential(config.api_token, name("api_token")), credential(config.api_secret, name("api_secret"))
    basic_credential = base64.b64encode(f"{api_token}:{api_secret}".encode()).decode()
    client = VendorClient(
        vendor=NAME,
        base_url=config.api_url(),
        auth=httpx.BasicAuth(api_token, api_secret),
        requests_per_second=rate(config.requests_per_second, name("requests_per_second")),
        wait_hint=rate_limit_wait,
        retry=config.retry(),
        error_text=error_text,
        auth_hint=f"{VENDOR.setting('api_token')}, {VENDOR.setting('api_secret')} and {VENDOR.setting('user_id')}",
        secrets=(api_secret, api_token, basic_credential),
    )
    pager = CallPager(client, user_id, whole_number(config.page_size, name("page_size"), high=MAX_PAGE_SIZE))
    flattener = CallFlattener(redact=client.redact)
    open_calls = OpenCallWatch(run.request, horizon)
    stats = run.stats
    sync_stats = stats.request_counter(client)

    # Ids already read in this run: a call inserted into the past shifts the list under the
    # pages, so the last call of one page can come again first on the next.
    seen: set[str] = set()

    def fetch_window(w: Window) -> Iterator[Batch]:
        if open_calls.to_recheck:
            yield recheck(w)
        pages_before = pager.pages_read
        for listed in pager.calls_in(w):
            stats.pages += pager.pages_read - pages_before
            pages_before = pager.pages_read
            sync_stats()
            yield flattened(listed, w)
        stats.pages += pager.pages_read - pages_before
        sync_stats()

    def recheck(w: Window) -> Batch:
        """Open calls from before the lookback, one request each (see open_calls.py)."""
        listed = []
        for call_id in open_calls.to_recheck:
            record = pager.call(call_id)
            if record is None:
                open_calls.forget(call_id)
                stats.notices.append(f"open call {call_id} is no longer known to the vendor (404); forgotten")
            else:
                listed.append(listed_call(record))
        open_calls.rechecked()
        sync_stats()
        stats.notices.append(f"re-checked {len(listed)} open calls from before the lookback by id")
        return flattened(listed, w)

    def flattened(listed: list[ListedCall], w: Window) -> Batch:
        batch = flattener.flatten(listed, w, seen)
        open_calls.note(batch[CALLS.name])
        stats.quarantined += len(batch[QUARANTINE.name])
        return batch

    lookback_start = run.nightly_start(settings)

    def nightly_start(ledger: SourceLedger) -> pendulum.DateTime:
        # Cursor minus lookback, or earlier to re-read calls still open (open_calls.py).
        index = pager.attach(ledger.state)
        return open_calls.plan(ledger, lookback_start(ledger), index.pages_between)

    walk = run.walk(settings, fetch_window, TABLES, nightly_start=nightly_start)

    @dlt.resource(name=CALLS.name, write_disposition="merge", primary_key="id")
    def calls() -> Iterator[DataItemWithMeta]:
        try:
            yield from walk
        finally:
            stats.notices.extend(pager.seeks)
            client.close()

    return calls


VENDOR = Vendor(
    name=NAME,
    source=bandwidth,
    tables=TABLES,
    settings=BandwidthSettings,
    display_name="Bandwidth",
    colour="#00897b",
    outcomes=OUTCOMES,
    sandbox_part="pipelines.sandbox.bandwidth",
    personal_data=PERSONAL_DATA,
    call_started={"calls": "start_time"},
    pacing=Pacing("requests_per_second", DEFAULT_REQUESTS_PER_SECOND),
    child_tables=CHILD_TABLES,
)
