"""Per-conversation SIP headers (optional): one request per conversation, one row per value."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pipelines.errors import VendorError
from pipelines.fetch.http import VendorClient
from pipelines.fetch.records import BadRecord, TableRows, as_text, quarantine_row
from pipelines.fetch.windows import Window

from .settings import CONVERSATION_SIP_HEADERS, REMEMBERED_CONVERSATIONS, SIP_HEADERS_PATH

# Source-state key of the conversations whose headers were fetched (committed with the data).
STATE_KEY = "sip_headers_fetched"
# Parallel requests: at 300 requests/min the rate limit, not latency, is what bounds a run.
THREADS = 4


class ConversationMemory:
    """Conversation ids whose headers were fetched, newest last, kept in dlt source state so the
    nightly lookback does not fetch them again. Bounded: a forgotten id is fetched again, which
    replaces its rows with the same rows."""

    def __init__(self, source_state: dict[str, Any], limit: int = REMEMBERED_CONVERSATIONS):
        self.ids: list[str] = source_state.setdefault(STATE_KEY, [])
        self.known = set(self.ids)
        self.limit = limit

    def __contains__(self, conversation_id: str) -> bool:
        return conversation_id in self.known

    def add(self, conversation_id: str) -> None:
        self.ids.append(conversation_id)
        self.known.add(conversation_id)
        excess = len(self.ids) - self.limit
        if excess > 0:
            self.known.difference_update(self.ids[:excess])
            del self.ids[:excess]


def fetch_headers(
    client: VendorClient,
    conversation_ids: list[str],
    memory: ConversationMemory,
    window: Window,
    headers: TableRows,
    quarantine: TableRows,
) -> None:
    """Rows for the conversations not fetched before, into `headers` (or `quarantine`)."""
    todo = [c for c in conversation_ids if c not in memory]
    with ThreadPoolExecutor(THREADS, thread_name_prefix="genesys-headers") as pool:
        for conversation_id, body in zip(todo, pool.map(lambda c: sip_headers(client, c), todo)):
            if body is None:
                continue  # not remembered: a later run may find them
            try:
                headers.extend(header_rows(conversation_id, body))
            except BadRecord as exc:
                quarantine.add(quarantine_row(CONVERSATION_SIP_HEADERS.name, body, f"{conversation_id}: {exc}", window))
            memory.add(conversation_id)


def sip_headers(client: VendorClient, conversation_id: str) -> Any | None:
    """The conversation's Callheader, or None when Genesys has no SIP messages for it (404: they
    aged out of retention, or none were captured): no headers, not a failed run."""
    try:
        body, _ = client.get_json(SIP_HEADERS_PATH.format(conversation_id=conversation_id))
    except VendorError as exc:
        if exc.status == 404:
            return None
        raise
    return body


def header_rows(conversation_id: str, body: Any) -> list[dict[str, Any]]:
    """Callheader `{headers: {name: [values]}}` -> one row per value, keeping its position.

    A header map would become one column per header name in dlt (dlt-notes.md): rows instead.
    """
    if not isinstance(body, dict):
        raise BadRecord(f"Callheader is {type(body).__name__}, not an object")
    headers = body.get("headers") or {}
    if not isinstance(headers, dict):
        raise BadRecord(f"headers is {type(headers).__name__}, not an object")
    rows = []
    for name, values in headers.items():
        if not isinstance(values, list):
            values = [values]  # a single value sent bare
        for index, value in enumerate(values):
            rows.append(
                {
                    "conversation_id": conversation_id,
                    "name": name,
                    "value_index": index,
                    "value": as_text(value, f"headers[{name!r}][{index}]"),
                }
            )
    return rows
