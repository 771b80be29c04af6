"""Bandwidth (Catapult v1) calls: generated call records and `GET /v1/users/{userId}/calls/`.

Quirks served on purpose (see vendor-apis.md section 2):
- No date filter: the whole history, sorted by startTime (desc by default), paged by page/size;
  the next page comes only in the `Link` header, and `rel="next"` only while records remain.
- A call is listed from its start; while the clock is before its end it is `started`
  (ringing), `active` or `transferring`, without endTime/chargeableDuration. Once the clock
  passes its end the same call reads `completed` (or `rejected`).
- Timestamps are ISO-8601 with milliseconds on most calls and without on some.
- `sipHeaders` (on ~30% of calls) hold awkward values: `=`, `;`, `,`, quotes, spaces, non-ASCII.
- Absent values are left out, never null.
- 429 has no Retry-After; `X-RateLimit-Reset` is the epoch time in MILLISECONDS when a request
  is allowed again.
- With `bridgeId` or `conferenceId`, paging does not apply: every matching call in one reply.
[U] chosen here: 401 body category `unauthorized`; single calls at `.../calls/{callId}`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..data import hex_ids
from ..part import VendorPart
from .api import BandwidthApi
from .records import VENDOR
from .store import BandwidthStore

if TYPE_CHECKING:
    from .. import Sandbox

__all__ = ["BandwidthApi", "BandwidthStore", "PART"]


def _store(sb: Sandbox) -> BandwidthStore:
    store: BandwidthStore = sb.stores[VENDOR]  # stores holds each part's own store type
    return store


PART = VendorPart(
    name=VENDOR,
    prefixes=("/v1/users/",),
    credentials=lambda rng: dict(zip(("user_id", "api_token", "api_secret"), _credentials(hex_ids(rng, 3, 16)))),
    store=lambda cfg, first_day, creds: BandwidthStore(cfg.seed, first_day, cfg.bandwidth_calls_per_day, creds["user_id"]),
    api=lambda store, creds, rt: BandwidthApi(store, creds["user_id"], creds["api_token"], creds["api_secret"], rt),
    env=lambda url, creds: {
        "SOURCES__BANDWIDTH__BASE_URL": url,
        "SOURCES__BANDWIDTH__USER_ID": creds["user_id"],
        "SOURCES__BANDWIDTH__API_TOKEN": creds["api_token"],
        "SOURCES__BANDWIDTH__API_SECRET": creds["api_secret"],
    },
    records=lambda sb, start, end, bad: _store(sb).calls(start, end, sb.now_ms, sb.faults.bad_record_rate, bad),
    bad_records=lambda sb, start, end: _store(sb).bad_records(start, end, sb.now_ms, sb.faults.bad_record_rate),
    order=2,
    truth_name="bandwidth_calls",
)


def _credentials(h: list[str]) -> tuple[str, str, str]:
    return f"u-{h[0][:20]}", f"t-{h[1][:24]}", h[2]
