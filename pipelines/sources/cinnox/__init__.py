"""CINNOX call-detail as a dlt source: `cinnox.call_detail` and its recording child tables."""

from __future__ import annotations

from collections.abc import Iterator

import dlt
from dlt.extract import DltResource
from dlt.extract.items import DataItemWithMeta

from pipelines.extract.context import RunContext
from pipelines.fetch.http import VendorClient
from pipelines.fetch.records import QUARANTINE, Batch
from pipelines.fetch.windows import Window
from pipelines.settings import credential, rate, whole_number
from pipelines.sources.vendor import Vendor

from .helpers import CallDetailFlattener, call_detail_pages, error_text, is_throttled
from .outcomes import OUTCOMES
from .settings import (
    CALL_DETAIL,
    CHILD_TABLES,
    MAX_PAGE_LIMIT,
    NAME,
    PERSONAL_DATA,
    RECORDING_EVENTS,
    RECORDING_FILES,
    CinnoxSettings,
)

TABLES = (CALL_DETAIL, RECORDING_EVENTS, RECORDING_FILES, QUARANTINE)


@dlt.source(name=NAME, section=NAME, spec=CinnoxSettings)
def cinnox(
    run: RunContext,
    # dlt injects the settings into the argument annotated with exactly the spec class
    config: CinnoxSettings = None,  # type: ignore[assignment]
) -> DltResource:
    settings, name = config.walk(), config.name
    app_id, app_token = credential(config.app_id, name("app_id")), credential(config.app_token, name("app_token"))
    concurrency = whole_number(config.concurrency, name("concurrency"))
    client = VendorClient(
        vendor=NAME,
        max_connections=concurrency,
        base_url=config.api_url(),
        headers={"Authorization": f"Bearer {app_token}"},
        requests_per_second=rate(config.requests_per_second, name("requests_per_second")),
        retry=config.retry(),
        error_text=error_text,
        throttled_body=is_throttled,
        auth_hint=f"{VENDOR.setting('app_token')} and {VENDOR.setting('app_id')}",
        secrets=(app_token,),
    )
    limit = whole_number(config.page_limit, name("page_limit"), high=MAX_PAGE_LIMIT)
    flattener = CallDetailFlattener(keep_url_signatures=config.keep_url_signatures)
    count_requests = run.stats.request_counter(client)

    def fetch_window(w: Window) -> Iterator[Batch]:
        seen: set[str] = set()
        for records in call_detail_pages(client, app_id, w, limit):
            run.stats.pages += 1
            count_requests()
            batch = flattener.flatten(records, w, seen)
            run.stats.quarantined += len(batch[QUARANTINE.name])
            yield batch

    walk = run.walk(settings, fetch_window, TABLES, concurrency=concurrency, release=client.close)

    @dlt.resource(name=CALL_DETAIL.name, write_disposition="merge", primary_key="id")
    def call_detail() -> Iterator[DataItemWithMeta]:
        yield from walk  # the walk closes the client (or hands it to the lookahead)

    return call_detail


VENDOR = Vendor(
    name=NAME,
    source=cinnox,
    tables=TABLES,
    settings=CinnoxSettings,
    display_name="CINNOX",
    colour="#5e35b1",
    outcomes=OUTCOMES,
    sandbox_part="pipelines.sandbox.cinnox",
    personal_data=PERSONAL_DATA,
    call_started={"call_detail": "call_date"},
    child_tables=CHILD_TABLES,
    fetches_ahead=True,
)
