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

from .api import GenesysApi
from .store import GenesysStore

__all__ = ["GenesysApi", "GenesysStore"]
