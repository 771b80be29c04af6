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

from .api import CinnoxApi
from .store import CinnoxStore

__all__ = ["CinnoxApi", "CinnoxStore"]
