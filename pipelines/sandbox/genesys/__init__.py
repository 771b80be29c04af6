"""Genesys Cloud: OAuth client credentials, SIP traces (HomerRecords) and per-conversation SIP
headers.

Quirks served on purpose (see vendor-apis.md section 3):
- `GET /api/v2/telephony/siptraces` is not paged and SILENTLY TRUNCATED to the result cap
  (`count` = rows returned): a client must notice a full window and split it.
- Rows are SIP messages, not calls: 6-12 per dialog sharing `callid`; type "1" requests
  (method INVITE/ACK/BYE/CANCEL), type "2" replies (method = status code, replyReason).
- Every field is a string except `date`; `conversationId` is absent or "" on some rows.
- Nothing older than the retention (21 days) is returned, and that is not an error.
- Tokens expire after their TTL of real (wall-clock) time; an expired token gets 401.
- Rate limit per token: 429 with `Retry-After` in whole seconds.
- Every response carries `ININ-Correlation-Id`, which error bodies repeat as `contextId`.
[U] chosen here: result cap 100, SipSearchResult status 200 / auth "true" / message "ok".
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

import numpy as np

from ..data import hex_ids, uuids
from ..part import VendorPart
from .api import GenesysApi
from .dialogs import VENDOR
from .store import GenesysStore

if TYPE_CHECKING:
    from .. import Sandbox

__all__ = ["GenesysApi", "GenesysStore", "PART"]


def _store(sb: Sandbox) -> GenesysStore:
    store: GenesysStore = sb.stores[VENDOR]  # stores holds each part's own store type
    return store


def _credentials(rng: np.random.Generator) -> dict[str, str]:
    client_id, secret = uuids(rng, 1)[0], hex_ids(rng, 2, 16)
    return {
        "client_id": client_id,
        "client_secret": base64.urlsafe_b64encode(bytes.fromhex("".join(secret))).decode().rstrip("="),
    }


def _headers(sb: Sandbox, conversation_id: str) -> dict[str, list[str]] | None:
    """The `headers` map the headers endpoint serves, or None where it answers 404."""
    found = _store(sb).conversation(conversation_id, sb.now_ms, sb.limits.genesys_retention_days)
    return None if found is None else found[2]


PART = VendorPart(
    name=VENDOR,
    # Token requests and the API: one endpoint object answers both.
    prefixes=("/oauth/", "/api/v2/"),
    credentials=_credentials,
    store=lambda cfg, first_day, creds: GenesysStore(cfg.seed, first_day, cfg.genesys_dialogs_per_day),
    api=lambda store, creds, rt: GenesysApi(store, creds["client_id"], creds["client_secret"], rt),
    env=lambda url, creds: {
        "SOURCES__GENESYS__BASE_URL": url,
        "SOURCES__GENESYS__LOGIN_URL": url,
        "SOURCES__GENESYS__CLIENT_ID": creds["client_id"],
        "SOURCES__GENESYS__CLIENT_SECRET": creds["client_secret"],
    },
    records=lambda sb, start, end, bad: _store(sb).messages(
        start, end, sb.now_ms, sb.limits.genesys_retention_days, sb.faults.bad_record_rate, bad
    ),
    bad_records=lambda sb, start, end: _store(sb).bad_records(
        start, end, sb.now_ms, sb.limits.genesys_retention_days, sb.faults.bad_record_rate
    ),
    order=3,
    truth_name="genesys_messages",
    lookups={"headers": _headers},
)
