"""Genesys Cloud SIP traces as a dlt source: `genesys.siptraces`, optionally
`genesys.conversation_sip_headers`."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import dlt
import pendulum

from pipelines.errors import UsageError
from pipelines.extract import Batch, Checkpoint, WindowWalk, default_nightly_start
from pipelines.http import VendorClient
from pipelines.progress import RunStats
from pipelines.tables import QUARANTINE, BadRecord, quarantine_row
from pipelines.windows import Window, iso, parse_duration, parse_instant

from .auth import CREDENTIALS_HINT, ClientCredentials, default_login_url
from .helpers import SiptraceFlattener, SplitReport, error_text, header_rows, new_batch, sip_headers, siptrace_results
from .settings import (
    BATCH_ROWS, CHILD_TABLES, CONVERSATION_SIP_HEADERS, DEFAULT_BASE_URL, DEFAULT_LOOKBACK,
    DEFAULT_MIN_WINDOW_MS, DEFAULT_REQUESTS_PER_MINUTE, DEFAULT_RESULT_CAP, DEFAULT_WINDOW,
    REMEMBERED_CONVERSATIONS, RETENTION, SIPTRACES,
)

NAME = "genesys"
SPECS = {s.name: s for s in (SIPTRACES, CONVERSATION_SIP_HEADERS, QUARANTINE)}
REQUIRED = ("client_id", "client_secret")
__all__ = ["NAME", "SPECS", "CHILD_TABLES", "REQUIRED", "genesys"]

# Source-state key of the conversations whose SIP headers were fetched (committed with the data).
HEADERS_FETCHED_KEY = "sip_headers_fetched"
HEADER_THREADS = 4


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
        error_text=error_text,
        # A 403 is the OAuth client's role, not its secret: name both.
        auth_hint=f"{CREDENTIALS_HINT} (and that the OAuth client's role grants telephony:pcap:view)",
        secrets=(client_secret,),
    )
    # The runner builds the source again after each checkpoint with the same stats: add to them.
    counted = (stats.requests, stats.throttled, stats.retries)

    def count_requests() -> None:
        stats.requests = counted[0] + client.stats.requests + credentials.stats.requests
        stats.throttled = counted[1] + client.stats.throttled
        stats.retries = counted[2] + client.stats.retries + credentials.stats.retries

    fetched_headers: list[ConversationMemory] = []  # made on first use, inside the resource

    def fetch_window(w: Window) -> Iterator[Batch]:
        report, flattener, batch = SplitReport(), SiptraceFlattener(w), new_batch()
        for query_window, records in siptrace_results(client, w, cap, min_ms, report):
            stats.pages += 1
            flattener.flatten(records, query_window, batch[SIPTRACES.name], batch[QUARANTINE.name])
            count_requests()
            if len(batch[SIPTRACES.name]) >= BATCH_ROWS:
                yield _counted(batch, stats)
                batch = new_batch()
        # WindowWalk records these in state once this window's batches are taken.
        stats.truncated.extend(report.truncated)
        _note_truncation(stats, report, cap)
        _note_retention(stats, w, report.records)
        if include_headers and flattener.conversation_ids:
            if not fetched_headers:
                fetched_headers.append(ConversationMemory(dlt.current.source_state()))
            yield from _header_batches(client, flattener.conversation_ids, fetched_headers[0], batch, w, stats)
        else:
            yield _counted(batch, stats)
        count_requests()

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


class ConversationMemory:
    """Conversation ids whose headers were fetched, newest last, kept in source state."""

    def __init__(self, source_state: dict[str, Any], limit: int = REMEMBERED_CONVERSATIONS):
        self.ids: list[str] = source_state.setdefault(HEADERS_FETCHED_KEY, [])
        self.known = set(self.ids)
        self.limit = limit

    def __contains__(self, conversation_id: str) -> bool:
        return conversation_id in self.known

    def add(self, conversation_id: str) -> None:
        self.ids.append(conversation_id)
        self.known.add(conversation_id)
        if len(self.ids) > self.limit:
            for forgotten in self.ids[: len(self.ids) - self.limit]:
                self.known.discard(forgotten)
            del self.ids[: len(self.ids) - self.limit]


def _header_batches(client: VendorClient, conversation_ids: list[str], memory: ConversationMemory,
                    batch: Batch, window: Window, stats: RunStats) -> Iterator[Batch]:
    """SIP headers of the window's conversations not fetched before (one request each)."""
    todo = [c for c in conversation_ids if c not in memory]
    headers, quarantine = batch[CONVERSATION_SIP_HEADERS.name], batch[QUARANTINE.name]
    with ThreadPoolExecutor(HEADER_THREADS, thread_name_prefix="genesys-headers") as pool:
        for conversation_id, body in zip(todo, pool.map(lambda c: sip_headers(client, c), todo)):
            if body is None:
                continue  # not remembered: a later run may find them
            try:
                headers.extend(header_rows(conversation_id, body))
            except BadRecord as exc:
                quarantine.add(quarantine_row(CONVERSATION_SIP_HEADERS.name, body, f"{conversation_id}: {exc}", window))
            memory.add(conversation_id)
    yield _counted(batch, stats)


def _counted(batch: Batch, stats: RunStats) -> Batch:
    stats.quarantined += len(batch[QUARANTINE.name])
    return batch


TRUNCATION_NOTICES = 5  # the rest are counted in the summary and listed by `callhouse status`


def _note_truncation(stats: RunStats, report: SplitReport, cap: int) -> None:
    """Called after report.truncated was added to stats.truncated."""
    before = len(stats.truncated) - len(report.truncated)
    for number, (window, rows) in enumerate(report.truncated, start=before + 1):
        if number <= TRUNCATION_NOTICES:
            stats.notices.append(
                f"TRUNCATED {window}: {rows} rows, the result cap of {cap}, in a window that cannot be split "
                "further (SOURCES__GENESYS__MIN_WINDOW_MS); rows past the cap were not loaded"
            )
        elif number == TRUNCATION_NOTICES + 1:
            stats.notices.append("more windows were TRUNCATED: `callhouse status` lists them all")


def retention_horizon() -> pendulum.DateTime:
    """Where Genesys's retention starts now. "Now" is CALLHOUSE_NOW when a replay or a test pins
    the run's clock (the vendor's clock then is the pinned one), else the wall clock."""
    pinned = os.environ.get("CALLHOUSE_NOW")
    now = parse_instant(pinned, "CALLHOUSE_NOW") if pinned else pendulum.now("UTC")
    return now - RETENTION


class RetentionNotice(str):
    """The run's one notice about ranges past retention; it grows as more such windows come."""

    def __new__(cls, start: pendulum.DateTime, end: pendulum.DateTime, windows: int) -> RetentionNotice:
        horizon = retention_horizon()
        notice = super().__new__(cls, (
            f"[{iso(start)}, {iso(end)}) is older than Genesys's {RETENTION.days}-day SIP trace retention "
            f"(traces kept since {horizon.to_date_string()}): {windows} windows returned no rows"
        ))
        notice.start, notice.end, notice.windows = start, end, windows
        return notice


def _note_retention(stats: RunStats, window: Window, rows: int) -> None:
    """Vendor quirk: traces older than 21 days are gone and the API answers such ranges with
    nothing, not an error. Say so, once per run."""
    if rows or window.end > retention_horizon():
        return
    for index, notice in enumerate(stats.notices):
        if isinstance(notice, RetentionNotice):
            stats.notices[index] = RetentionNotice(notice.start, window.end, notice.windows + 1)
            return
    stats.notices.append(RetentionNotice(window.start, window.end, 1))


def _positive_int(value: Any, setting: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise UsageError(f"SOURCES__GENESYS__{setting}: {value!r} is not a positive whole number")
    return number
