"""Genesys siptraces records are Homer records: their documented fields, in the documented order
(vendor-apis.md §3). One list for the sandbox's conformance tests and the source's tests."""

HOMER_FIELDS = (
    "id", "name", "date", "milliTs", "microTs", "method", "replyReason", "ruri", "ruriUser", "ruriDomain",
    "fromUser", "fromDomain", "fromTag", "toUser", "toDomain", "toTag", "pidUser", "contactUser", "authUser",
    "callid", "callidAleg", "via1", "via1Branch", "cseq", "diversion", "reason", "contentType", "auth",
    "userAgent", "sourceIp", "sourcePort", "destinationIp", "destinationPort", "contactIp", "contactPort",
    "originatorIp", "originatorPort", "correlationId", "proto", "family", "rtpStat", "type", "node", "trans",
    "dbnode", "msg", "sourceAlias", "destinationAlias", "conversationId", "participantId", "selfUri",
)
