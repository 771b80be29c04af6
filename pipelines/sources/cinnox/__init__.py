"""CINNOX call-detail as a dlt source: `cinnox.call_detail` and its recording child tables."""
from __future__ import annotations

from typing import Any, Iterator

import dlt
import pendulum

from pipelines.extract import Checkpoint, WindowWalk, default_nightly_start
from pipelines.http import VendorClient
from pipelines.load_state import LoadRequest
from pipelines.progress import Progress, RunStats
from pipelines.tables import QUARANTINE
from pipelines.windows import Window, parse_duration, parse_instant

from .helpers import CallDetailFlattener, call_detail_pages, error_text
from .settings import (
    CALL_DETAIL, CHILD_TABLES, DEFAULT_LOOKBACK, DEFAULT_WINDOW, MAX_PAGE_LIMIT, RECORDING_EVENTS,
    RECORDING_FILES,
)

NAME = "cinnox"
SPECS = {s.name: s for s in (CALL_DETAIL, RECORDING_EVENTS, RECORDING_FILES, QUARANTINE)}
REQUIRED = ("base_url", "app_id", "app_token")
# fetch_window keeps no dlt state: windows can be fetched while the previous checkpoint loads.
FETCH_AHEAD = True


@dlt.source(name=NAME, section=NAME)
def cinnox(
    request: Any,
    stats: Any,
    progress: Any,
    base_url: str = dlt.config.value,
    app_id: str = dlt.config.value,
    app_token: str = dlt.secrets.value,
    start_date: str | None = None,
    lookback: str = DEFAULT_LOOKBACK,
    window: str = DEFAULT_WINDOW,
    page_limit: int = MAX_PAGE_LIMIT,
    requests_per_second: float | None = None,
    keep_url_signatures: bool = False,
    max_retries: int = 8,
    concurrency: int = 1,
    checkpoint_rows: int = Checkpoint.rows,
    checkpoint_seconds: float = Checkpoint.seconds,
    lookahead: Any = None,
) -> Any:
    client = VendorClient(
        vendor=NAME,
        max_connections=max(1, int(concurrency)),
        base_url=base_url,
        headers={"Authorization": f"Bearer {app_token}"},
        requests_per_second=requests_per_second,
        max_retries=int(max_retries),
        error_text=error_text,
        auth_hint="SOURCES__CINNOX__APP_TOKEN and SOURCES__CINNOX__APP_ID",
        secrets=(app_token,),
    )
    limit = min(int(page_limit), MAX_PAGE_LIMIT)
    flattener = CallDetailFlattener(keep_url_signatures=keep_url_signatures)

    count_requests = stats.request_counter(client)

    def fetch_window(w: Window) -> Iterator[dict]:
        seen: set[str] = set()
        for records in call_detail_pages(client, app_id, w, limit):
            stats.pages += 1
            count_requests()
            batch = flattener.flatten(records, w, seen)
            stats.quarantined += len(batch[QUARANTINE.name])
            yield batch

    request_end: pendulum.DateTime = request.end
    walk = WindowWalk(
        request=request,
        window_size=parse_duration(window, "SOURCES__CINNOX__WINDOW"),
        nightly_start=default_nightly_start(
            request_end,
            parse_duration(lookback, "SOURCES__CINNOX__LOOKBACK"),
            parse_instant(start_date, "SOURCES__CINNOX__START_DATE") if start_date else None,
        ),
        fetch_window=fetch_window,
        specs=SPECS,
        stats=stats,
        progress=progress,
        checkpoint=Checkpoint(rows=int(checkpoint_rows), seconds=float(checkpoint_seconds)),
        concurrency=max(1, int(concurrency)),
        lookahead=lookahead,
        release=client.close,
    )

    @dlt.resource(name=CALL_DETAIL.name, write_disposition="merge", primary_key="id")
    def call_detail() -> Iterator[Any]:
        yield from walk  # the walk closes the client (or hands it to the lookahead)

    return call_detail
