"""CINNOX call-detail: generated call records and the `GET /v1/api/apps/{appID}/data/call-detail`
endpoint.

Quirks served on purpose (see vendor-apis.md section 1):
- `caller`/`callee` mix JSON numbers (no leading `+`), `+E.164` strings and national-format
  strings with a leading `0`.
- The window is INCLUSIVE at both ends (startAt <= callDate <= endAt): a call exactly on a
  boundary is served by both adjacent windows.
- A call is listed only once it has ended; ~2% arrive LATE (1-36 h after they ended), so a
  window already read can grow when the clock moves on.
- No total and no next link: offset paging until a short page.
- `recordingEventList[].files[].downloadUrl` is a signed, expiring S3-style URL.
Unconfirmed details chosen here [U]: success code 0, 401/403 bodies with codes 6450011/6450013,
429 + Retry-After for code 6451010, limit 0 or absent = 100.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..data import hex_ids
from ..part import VendorPart
from .api import CinnoxApi
from .records import VENDOR
from .store import CinnoxStore

if TYPE_CHECKING:
    from .. import Sandbox

__all__ = ["CinnoxApi", "CinnoxStore", "PART"]


def _store(sb: Sandbox) -> CinnoxStore:
    store: CinnoxStore = sb.stores[VENDOR]  # stores holds each part's own store type
    return store


def _credentials(h: list[str]) -> dict[str, str]:
    return {"app_id": f"app-{h[0][:12]}", "app_token": f"cnx-demo-{h[1]}"}


PART = VendorPart(
    name=VENDOR,
    prefixes=("/v1/api/apps/",),
    credentials=lambda rng: _credentials(hex_ids(rng, 2, 16)),
    store=lambda cfg, first_day, creds: CinnoxStore(cfg.seed, first_day, cfg.cinnox_calls_per_day),
    api=lambda store, creds, rt: CinnoxApi(store, creds["app_id"], creds["app_token"], rt),
    env=lambda url, creds: {
        "SOURCES__CINNOX__BASE_URL": url,
        "SOURCES__CINNOX__APP_ID": creds["app_id"],
        "SOURCES__CINNOX__APP_TOKEN": creds["app_token"],
    },
    records=lambda sb, start, end, bad: _store(sb).calls(start, end, sb.now_ms, sb.faults.bad_record_rate, bad),
    bad_records=lambda sb, start, end: _store(sb).bad_records(start, end, sb.now_ms, sb.faults.bad_record_rate),
    order=1,
    truth_name="cinnox_calls",
)
