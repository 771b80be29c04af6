"""Genesys Cloud telephony: endpoints, limits and the warehouse tables they fill."""

from typing import ClassVar

import dlt
import pendulum
from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue

from pipelines.fetch.records import TableSpec
from pipelines.privacy.pseudonyms import PersonalKind
from pipelines.sources.windowed import WindowedSourceSettings

NAME = "genesys"

DEFAULT_BASE_URL = "https://api.mypurecloud.com"
TOKEN_PATH = "/oauth/token"
SIPTRACES_PATH = "/api/v2/telephony/siptraces"
SIP_HEADERS_PATH = "/api/v2/telephony/sipmessages/conversations/{conversation_id}/headers"

DEFAULT_LOOKBACK = "1d"
DEFAULT_WINDOW = "1h"
# siptraces is not paged: a query silently stops at this many rows (Homer's default limit).
DEFAULT_RESULT_CAP = 100
# dateStart/dateEnd carry milliseconds, so 1 ms is the narrowest window the API can be asked for.
DEFAULT_MIN_WINDOW_MS = 1
# ~300 requests/min per client-credentials token (vendor-apis.md §3).
DEFAULT_REQUESTS_PER_MINUTE = 300.0
# SIP traces are kept 21 days: older ranges come back empty, which is not an error.
RETENTION = pendulum.duration(days=21)
# Conversation ids whose headers were fetched, remembered in source state so the nightly
# lookback does not fetch them again; bounded, oldest forgotten first (a refetch is harmless).
REMEMBERED_CONVERSATIONS = 5000
# Rows gathered from a window's queries before they go to dlt as one Arrow table per table.
BATCH_ROWS = 5000

SIPTRACES = TableSpec(
    name="siptraces",
    fields={
        # HomerRecord: every field is a string on the wire except `date`.
        # ids
        "id": "text",
        "name": "text",
        "callid": "text",
        "callidAleg": "text",
        "correlationId": "text",
        "conversationId": "text",
        "participantId": "text",
        "selfUri": "text",
        # timestamps
        "date": "timestamp",
        "milliTs": "bigint",
        "microTs": "bigint",
        # the SIP message: type "1" request (method INVITE, BYE, ...), "2" reply (method "200", ...)
        "type": "text",
        "method": "text",
        "replyReason": "text",
        "cseq": "text",
        "reason": "text",
        "contentType": "text",
        "userAgent": "text",
        "diversion": "text",
        "auth": "text",
        "msg": "text",
        "rtpStat": "text",
        "trans": "text",
        "proto": "text",
        "family": "text",
        "node": "text",
        "dbnode": "text",
        # parties (users are phone numbers or SIP users: text)
        "ruri": "text",
        "ruriUser": "text",
        "ruriDomain": "text",
        "fromUser": "text",
        "fromDomain": "text",
        "fromTag": "text",
        "toUser": "text",
        "toDomain": "text",
        "toTag": "text",
        "pidUser": "text",
        "contactUser": "text",
        "authUser": "text",
        "via1": "text",
        "via1Branch": "text",
        # network
        "sourceIp": "text",
        "sourcePort": "bigint",
        "destinationIp": "text",
        "destinationPort": "bigint",
        "contactIp": "text",
        "contactPort": "bigint",
        "originatorIp": "text",
        "originatorPort": "bigint",
        "sourceAlias": "text",
        "destinationAlias": "text",
    },
    # Homer's id is a counter per daily capture table: two messages of different days may share
    # it, so a message is its id plus its time.
    primary_key=("id", "date"),
)

# One row per header value; a header repeated with equal values keeps every row by position.
CONVERSATION_SIP_HEADERS = TableSpec(
    name="conversation_sip_headers",
    fields={},
    added={"conversation_id": "text", "name": "text", "value_index": "bigint", "value": "text"},
    primary_key=("conversation_id", "name", "value_index"),
    merge_key=("conversation_id",),
    nested=("headers",),  # the Callheader body's map, one row per value
)

# Personal data by table (Vendor.personal_data): SIP users are phone numbers (or user names);
# the raw message, its first line (`name`), the request URI, Via, Diversion and the Call-ID (often
# `<random>@<caller's IP>`, repeated in correlationId and selfUri) are SIP text carrying numbers,
# display names and IPs; the addresses are the parties' IPs. Header values may carry any. The
# SIP text is scrubbed the same way in every column, so the Call-ID still joins the messages.
PERSONAL_DATA: dict[str, dict[str, PersonalKind]] = {
    SIPTRACES.name: {
        "ruriUser": "phone_number",
        "fromUser": "phone_number",
        "toUser": "phone_number",
        "pidUser": "phone_number",
        "contactUser": "phone_number",
        "authUser": "phone_number",
        "sourceIp": "ip_address",
        "destinationIp": "ip_address",
        "contactIp": "ip_address",
        "originatorIp": "ip_address",
        "name": "sip_text",
        "ruri": "sip_text",
        "diversion": "sip_text",
        "via1": "sip_text",
        "callid": "sip_text",
        "callidAleg": "sip_text",
        "correlationId": "sip_text",
        "selfUri": "sip_text",
        "msg": "sip_text",
    },
    CONVERSATION_SIP_HEADERS.name: {"value": "sip_text", "headers": "sip_text"},
}


@configspec
class GenesysSettings(WindowedSourceSettings):
    """SOURCES__GENESYS__*: the windowed settings, and Genesys' own."""

    SOURCE: ClassVar[str] = NAME
    base_url: str = DEFAULT_BASE_URL
    login_url: str | None = None  # default: the base URL's login host (auth.default_login_url)
    client_id: TSecretStrValue = dlt.secrets.value
    client_secret: TSecretStrValue = dlt.secrets.value
    lookback: str = DEFAULT_LOOKBACK
    window: str = DEFAULT_WINDOW
    result_cap: int = DEFAULT_RESULT_CAP
    min_window_ms: int = DEFAULT_MIN_WINDOW_MS
    requests_per_minute: float | None = DEFAULT_REQUESTS_PER_MINUTE
    include_headers: bool = False  # also load conversation_sip_headers
