"""Genesys Cloud SIP traces as a dlt source: `genesys.siptraces`, optionally
`genesys.conversation_sip_headers`."""
from __future__ import annotations

from typing import Any, Iterator

import dlt

from pipelines.errors import UsageError
from pipelines.extract import Batch, Checkpoint, WindowWalk, default_nightly_start
from pipelines.http import VendorClient
from pipelines.tables import QUARANTINE
from pipelines.windows import Window, parse_duration, parse_instant

from .auth import CREDENTIALS_HINT, ClientCredentials, default_login_url
from .headers import ConversationMemory, fetch_headers
from .helpers import SiptraceFlattener, SplitReport, error_text, new_batch, siptrace_results
from .notices import note_retention, note_truncated
from .settings import (
    BATCH_ROWS, CHILD_TABLES, CONVERSATION_SIP_HEADERS, DEFAULT_BASE_URL, DEFAULT_LOOKBACK,
    DEFAULT_MIN_WINDOW_MS, DEFAULT_REQUESTS_PER_MINUTE, DEFAULT_RESULT_CAP, DEFAULT_WINDOW, SIPTRACES,
)

NAME = "genesys"
SPECS = {s.name: s for s in (SIPTRACES, CONVERSATION_SIP_HEADERS, QUARANTINE)}
REQUIRED = ("client_id", "client_secret")
__all__ = ["NAME", "SPECS", "CHILD_TABLES", "REQUIRED", "genesys"]


@dlt.source(name=NAME, section=NAME)
def genesys(
    request: Any,
    stats: Any,
    progress: Any,
    base_url: str = DEFAULT_BASE_URL,
    login_url: str | None = None,
    client_id: str = dlt.secrets.value,
    client_secret: str = dlt.secrets.value,
    start_date: str | None = None,
    lookback: str = DEFAULT_LOOKBACK,
    window: str = DEFAULT_WINDOW,
    result_cap: int = DEFAULT_RESULT_CAP,
    min_window_ms: int = DEFAULT_MIN_WINDOW_MS,
    requests_per_minute: float | None = DEFAULT_REQUESTS_PER_MINUTE,
    include_headers: bool = False,
    max_retries: int = 8,
    checkpoint_rows: int = Checkpoint.rows,
    checkpoint_seconds: float = Checkpoint.seconds,
) -> Any:
    cap, min_ms = _positive_int(result_cap, "RESULT_CAP"), _positive_int(min_window_ms, "MIN_WINDOW_MS")
    credentials = ClientCredentials(login_url or default_login_url(base_url), client_id, client_secret)
    client = VendorClient(
        vendor=NAME,
        base_url=base_url,
        auth=credentials,
        requests_per_second=float(requests_per_minute) / 60 if requests_per_minute else None,
        max_retries=int(max_retries),
        error_text=error_text,
        # A 403 is about the OAuth client's role rather than its secret: name both.
        auth_hint=f"{CREDENTIALS_HINT} (and that the OAuth client's role grants telephony:pcap:view)",
        secrets=(client_secret,),
    )
    count_requests = stats.request_counter(client, credentials)  # token requests count too

    memory: list[ConversationMemory] = []  # made on first use: source state exists inside the resource

    def fetch_window(w: Window) -> Iterator[Batch]:
        report, flattener, batch = SplitReport(), SiptraceFlattener(w), new_batch()
        for query_window, records in siptrace_results(client, w, cap, min_ms, report):
            stats.pages += 1
            flattener.flatten(records, query_window, batch[SIPTRACES.name], batch[QUARANTINE.name])
            count_requests()
            if len(batch[SIPTRACES.name]) >= BATCH_ROWS:
                yield _counted(batch, stats)
                batch = new_batch()
        note_truncated(stats, report.truncated, cap)
        note_retention(stats, w, report.records)
        if include_headers and flattener.conversation_ids:
            if not memory:
                memory.append(ConversationMemory(dlt.current.source_state()))
            fetch_headers(client, flattener.conversation_ids, memory[0], w,
                          batch[CONVERSATION_SIP_HEADERS.name], batch[QUARANTINE.name])
            count_requests()
        yield _counted(batch, stats)

    walk = WindowWalk(
        request=request,
        window_size=parse_duration(window, "SOURCES__GENESYS__WINDOW"),
        nightly_start=default_nightly_start(
            request.end,
            parse_duration(lookback, "SOURCES__GENESYS__LOOKBACK"),
            parse_instant(start_date, "SOURCES__GENESYS__START_DATE") if start_date else None,
        ),
        fetch_window=fetch_window,
        specs=SPECS,
        stats=stats,
        progress=progress,
        checkpoint=Checkpoint(rows=int(checkpoint_rows), seconds=float(checkpoint_seconds)),
    )

    @dlt.resource(name=SIPTRACES.name, write_disposition="merge", primary_key="id")
    def siptraces() -> Iterator[Any]:
        try:
            yield from walk
        finally:
            client.close()
            credentials.close()

    return siptraces


def _counted(batch: Batch, stats: Any) -> Batch:
    stats.quarantined += len(batch[QUARANTINE.name])
    return batch


def _positive_int(value: Any, setting: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise UsageError(f"SOURCES__GENESYS__{setting}: {value!r} is not a positive whole number")
    return number
