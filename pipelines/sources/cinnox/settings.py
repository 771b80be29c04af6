"""CINNOX call-detail: endpoint, limits and the warehouse tables it fills."""

from typing import ClassVar

import dlt
from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue

from pipelines.fetch.records import TableSpec
from pipelines.privacy.pseudonyms import PersonalKind
from pipelines.sources.vendor import ChildTable
from pipelines.sources.windowed import WindowedSourceSettings

NAME = "cinnox"

CALL_DETAIL_PATH = "/v1/api/apps/{app_id}/data/call-detail"
MAX_PAGE_LIMIT = 500
# Error codes CINNOX puts in the body (vendor-apis.md §1); 6451010 may also come with HTTP 200.
TOO_MANY_REQUESTS = 6451010
DEFAULT_LOOKBACK = "2d"
DEFAULT_WINDOW = "1d"

CALL_DETAIL = TableSpec(
    name="call_detail",
    fields={
        # ids
        "id": "text",
        "hid": "text",
        "svcID": "text",
        "roomID": "text",
        "callID": "text",
        "fromEID": "text",
        "toEID": "text",
        "fromSvcID": "text",
        "toSvcID": "text",
        "fromDepartmentID": "text",
        "toDepartmentID": "text",
        "lastHandledParty": "text",
        "releaseParty": "text",
        # sequence numbers
        "seq": "bigint",
        "callSeq": "bigint",
        # timestamps (`date` is the vendor's YYYYMMDD text, kept as sent)
        "date": "text",
        "callDate": "timestamp",
        "callEndTime": "timestamp",
        # call attributes; caller/callee are phone numbers: text, even when sent as JSON numbers
        "type": "text",
        "callDirection": "text",
        "callType": "text",
        "fromRegion": "text",
        "fromIP": "text",
        "callPrepareFromNum": "text",
        "caller": "text",
        "callee": "text",
        "status": "text",
        "lastResponseCode": "text",
        "byeReason": "text",
        "mediaType": "text",
        "isRecording": "bool",
        "hasAudioFile": "bool",
        "recordType": "text",
        # parties
        "fromRole": "text",
        "toRole": "text",
        "fromRoleName": "text",
        "toRoleName": "text",
        "fromDepartment": "text",
        "toDepartment": "text",
        "fromDisplayName": "text",
        "toDisplayName": "text",
        "callerFirstName": "text",
        "callerLastName": "text",
        "calleeFirstName": "text",
        "calleeLastName": "text",
    },
    primary_key=("id",),
    nested=("recordingEventList",),
)

RECORDING_EVENTS = TableSpec(
    name="call_detail__recording_event_list",
    fields={"recorderEID": "text", "startAt": "timestamp", "endAt": "timestamp", "code": "bigint"},
    added={"call_detail_id": "text", "event_index": "bigint"},
    primary_key=("call_detail_id", "event_index"),
    merge_key=("call_detail_id",),
    nested=("files",),
)

RECORDING_FILES = TableSpec(
    name="call_detail__recording_event_list__files",
    fields={
        "id": "text",
        "name": "text",
        "downloadUrl": "text",
        "duration": "bigint",
        "mimeType": "text",
        "size": "bigint",
        "type": "bigint",
        "isPrivate": "bool",
    },
    added={"call_detail_id": "text", "event_index": "bigint", "file_index": "bigint"},
    primary_key=("call_detail_id", "event_index", "file_index"),
    merge_key=("call_detail_id",),
)

# Recordings are replaced with their call (warehouse/repairs.py).
CHILD_TABLES = (
    ChildTable(RECORDING_EVENTS.name, "call_detail_id", CALL_DETAIL.name, "id"),
    ChildTable(RECORDING_FILES.name, "call_detail_id", CALL_DETAIL.name, "id"),
)

# Personal data by table (Vendor.personal_data): phone numbers, people's names and the caller's IP.
# A display name of a caller without a name repeats the number: pseudonymized as that number.
PERSONAL_DATA: dict[str, dict[str, PersonalKind]] = {
    CALL_DETAIL.name: {
        "fromIP": "ip_address",
        "callPrepareFromNum": "phone_number",
        "caller": "phone_number",
        "callee": "phone_number",
        "fromDisplayName": "name",
        "toDisplayName": "name",
        "callerFirstName": "name",
        "callerLastName": "name",
        "calleeFirstName": "name",
        "calleeLastName": "name",
    },
}


@configspec
class CinnoxSettings(WindowedSourceSettings):
    """SOURCES__CINNOX__*: the windowed settings, and CINNOX's own."""

    SOURCE: ClassVar[str] = NAME
    app_id: str = dlt.config.value  # required (dlt: no default)
    app_token: TSecretStrValue = dlt.secrets.value
    lookback: str = DEFAULT_LOOKBACK
    window: str = DEFAULT_WINDOW
    page_limit: int = MAX_PAGE_LIMIT
    requests_per_second: float | None = None  # none: CINNOX publishes no limit; 429s are honoured
    # Recording download URLs are signed: kept only when asked (they are credentials).
    keep_url_signatures: bool = False
    concurrency: int = 1  # windows fetched at once
