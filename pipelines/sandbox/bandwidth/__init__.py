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

from .api import BandwidthApi
from .store import BandwidthStore

__all__ = ["BandwidthApi", "BandwidthStore"]
