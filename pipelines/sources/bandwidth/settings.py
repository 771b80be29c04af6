"""Bandwidth (Catapult v1) list calls: endpoint, limits and the warehouse tables it fills."""

from typing import ClassVar

import dlt
from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue

from pipelines.fetch.records import TableSpec
from pipelines.privacy.pseudonyms import PersonalKind
from pipelines.sources.vendor import ChildTable
from pipelines.sources.windowed import WindowedSourceSettings

NAME = "bandwidth"

DEFAULT_BASE_URL = "https://api.catapult.inetwork.com"
CALLS_PATH = "/v1/users/{user_id}/calls/"
MAX_PAGE_SIZE = 1000
# Bandwidth allows 1 request per 1000 ms on GET /calls, per credential (vendor-apis.md §2).
DEFAULT_REQUESTS_PER_SECOND = 1.0
DEFAULT_LOOKBACK = "6h"
# Calls open longer than this are no longer re-checked by nightly runs (open_calls.py).
DEFAULT_OPEN_CALL_HORIZON = "7d"
# The API has no date filter: windows only mark how far a run got (checkpoints, state), they do
# not cost requests of their own.
DEFAULT_WINDOW = "1d"
# A 429 names the moment the limit resets; a reset further out than this means clocks disagree.
MAX_RATE_LIMIT_WAIT_S = 120.0

# States a call can still leave; `rejected` and `completed` are final.
OPEN_STATES = frozenset({"started", "active", "transferring"})

CALLS = TableSpec(
    name="calls",
    fields={
        # ids
        "id": "text",
        "bridgeId": "text",
        "conferenceId": "text",
        # parties: E.164 numbers or SIP URIs, always text
        "direction": "text",
        "from": "text",
        "to": "text",
        # state and timestamps (ISO-8601 with or without milliseconds; endTime absent while open)
        "state": "text",
        "startTime": "timestamp",
        "activeTime": "timestamp",
        "endTime": "timestamp",
        # measures
        "chargeableDuration": "bigint",
        # call set-up
        "callbackUrl": "text",
        "callbackHttpMethod": "text",
        "callbackTimeout": "bigint",
        "fallbackUrl": "text",
        "events": "text",
        "recordingEnabled": "bool",
        "recordingFileFormat": "text",
        "transcriptionEnabled": "bool",
    },
    primary_key=("id",),
    # A map of header name -> value: as columns it would make one column per header name.
    nested=("sipHeaders",),
)

SIP_HEADERS = TableSpec(
    name="calls__sip_headers",
    fields={},
    added={"call_id": "text", "name": "text", "value": "text"},
    primary_key=("call_id", "name"),
    merge_key=("call_id",),
)

# Header rows are replaced with their call (warehouse/repairs.py).
CHILD_TABLES = (ChildTable(SIP_HEADERS.name, "call_id", CALLS.name, "id"),)

# Personal data by table (Vendor.personal_data): the parties' numbers or SIP URIs (the number
# inside a URI is what is pseudonymized), and header values: From, To, P-Asserted-Identity,
# Contact, Remote-Party-ID, Diversion carry numbers, display names and IPs, and X- headers
# whatever the customer's application put there, so every value is scrubbed as SIP text.
PERSONAL_DATA: dict[str, dict[str, PersonalKind]] = {
    CALLS.name: {"from": "phone_number", "to": "phone_number", "sipHeaders": "sip_text"},
    SIP_HEADERS.name: {"value": "sip_text"},
}


@configspec
class BandwidthSettings(WindowedSourceSettings):
    """SOURCES__BANDWIDTH__*: the windowed settings, and Bandwidth's own."""

    SOURCE: ClassVar[str] = NAME
    base_url: str = DEFAULT_BASE_URL
    user_id: str = dlt.config.value  # required (dlt: no default)
    api_token: TSecretStrValue = dlt.secrets.value
    api_secret: TSecretStrValue = dlt.secrets.value
    lookback: str = DEFAULT_LOOKBACK
    window: str = DEFAULT_WINDOW
    page_size: int = MAX_PAGE_SIZE
    # 0 or none turns client-side pacing off (429s are still honoured).
    requests_per_second: float | None = DEFAULT_REQUESTS_PER_SECOND
    open_call_horizon: str = DEFAULT_OPEN_CALL_HORIZON
