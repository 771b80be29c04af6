"""Genesys Cloud SIP traces as a dlt source: `genesys.siptraces`, optionally
`genesys.conversation_sip_headers`."""

from __future__ import annotations

from collections.abc import Iterator

import dlt
from dlt.extract import DltResource
from dlt.extract.items import DataItemWithMeta

from pipelines.extract.context import RunContext
from pipelines.extract.run_stats import RunStats
from pipelines.fetch.http import VendorClient
from pipelines.fetch.records import QUARANTINE, Batch
from pipelines.fetch.windows import Window
from pipelines.settings import base_url as checked_url
from pipelines.settings import credential, rate, whole_number
from pipelines.sources.vendor import ChildTable, Pacing, Vendor

from .auth import ClientCredentials, default_login_url
from .headers import ConversationMemory, fetch_headers
from .helpers import PartPlanner, SiptraceBatch, SiptraceFlattener, SplitReport, error_text, siptrace_results
from .notices import note_retention, note_truncated
from .outcomes import OUTCOMES
from .settings import (
    BATCH_ROWS,
    CONVERSATION_SIP_HEADERS,
    DEFAULT_REQUESTS_PER_MINUTE,
    NAME,
    PERSONAL_DATA,
    SIPTRACES,
    GenesysSettings,
)

TABLES = (SIPTRACES, CONVERSATION_SIP_HEADERS, QUARANTINE)


@dlt.source(name=NAME, section=NAME, spec=GenesysSettings)
def genesys(
    run: RunContext,
    # dlt injects the settings into the argument annotated with exactly the spec class
    config: GenesysSettings = None,  # type: ignore[assignment]
) -> DltResource:
    settings, name = config.walk(), config.name
    cap = whole_number(config.result_cap, name("result_cap"))
    min_ms = whole_number(config.min_window_ms, name("min_window_ms"))
    retry = config.retry()
    credentials_hint = f"{name('client_id')} and {name('client_secret')}"
    base_url = config.api_url()
    login_url = checked_url(config.login_url, name("login_url")) if config.login_url else default_login_url(base_url)
    client_id = credential(config.client_id, name("client_id"))
    client_secret = credential(config.client_secret, name("client_secret"))
    credentials = ClientCredentials(login_url, client_id, client_secret, retry, credentials_hint)
    per_minute = rate(config.requests_per_minute, name("requests_per_minute"))
    client = VendorClient(
        vendor=NAME,
        base_url=base_url,
        auth=credentials,
        requests_per_second=per_minute / 60 if per_minute else None,
        retry=retry,
        error_text=error_text,
        # A 403 is about the OAuth client's role rather than its secret: name both.
        auth_hint=f"{credentials_hint} (and that the OAuth client's role grants telephony:pcap:view)",
        secrets=(client_secret,),
    )
    stats = run.stats
    count_requests = stats.request_counter(client, credentials)  # token requests count too

    memory: list[ConversationMemory] = []  # made on first use: source state exists inside the resource

    # Windows are fetched one after another, in time order. The lookahead keeps this source's
    # fetch_window for the whole run; fetching in step, each checkpoint's source starts afresh.
    planner = PartPlanner(cap, min_ms)

    def fetch_window(w: Window) -> Iterator[Batch]:
        report, flattener, batch = SplitReport(), SiptraceFlattener(w), SiptraceBatch()
        for query_window, records in siptrace_results(client, w, cap, min_ms, report, planner.parts(w)):
            stats.pages += 1
            flattener.add(records, query_window, batch.quarantine)
            count_requests()
            if flattener.waiting >= BATCH_ROWS:
                flattener.flush(batch.traces, batch.quarantine)
                yield _counted(batch, stats)
                batch = SiptraceBatch()
        flattener.flush(batch.traces, batch.quarantine)
        planner.note(w, report.kept)
        note_truncated(stats, report.truncated, cap)
        note_retention(stats, w, report.records)
        if config.include_headers and flattener.conversation_ids:
            if not memory:
                memory.append(ConversationMemory(dlt.current.source_state()))
            fetch_headers(client, flattener.conversation_ids, memory[0], w, batch.headers, batch.quarantine)
            count_requests()
        yield _counted(batch, stats)

    def release() -> None:
        client.close()
        credentials.close()

    # The remembered conversations are dlt state: windows are fetched ahead only without headers.
    walk = run.walk(settings, fetch_window, TABLES, release=release, ahead=not config.include_headers)

    @dlt.resource(name=SIPTRACES.name, write_disposition="merge", primary_key=list(SIPTRACES.primary_key))
    def siptraces() -> Iterator[DataItemWithMeta]:
        yield from walk  # the walk closes the clients (or hands them to the lookahead)

    return siptraces


def _counted(batch: SiptraceBatch, stats: RunStats) -> Batch:
    stats.quarantined += len(batch.quarantine)
    return batch.tables()


# No child tables for the repairs: header rows hang off a conversation, not off a siptraces row,
# and a nightly lookback re-delivers traces of conversations whose headers are not fetched again
# (settings.REMEMBERED_CONVERSATIONS); declaring them children would delete those headers. A
# conversation fetched again replaces its header rows through merge_key instead.
VENDOR = Vendor(
    name=NAME,
    source=genesys,
    tables=TABLES,
    settings=GenesysSettings,
    display_name="Genesys",
    colour="#ef6c00",
    outcomes=OUTCOMES,
    sandbox_part="pipelines.sandbox.genesys",
    personal_data=PERSONAL_DATA,
    call_started={"siptraces": "date"},
    # Header rows go when no message of their conversation is left.
    purged_with=(ChildTable("conversation_sip_headers", "conversation_id", "siptraces", "conversation_id"),),
    pacing=Pacing("requests_per_minute", DEFAULT_REQUESTS_PER_MINUTE),
    sandbox_options={"include_headers": "true"},  # conversation_sip_headers is optional
    fetches_ahead=True,  # unless it loads headers (see the source)
)
