"""OAuth client credentials, `GET /api/v2/telephony/siptraces`, the per-conversation SIP message
and header endpoints, and the pcap export (acknowledged only)."""

from __future__ import annotations

import base64
import hashlib
import math
import re
import secrets
import threading
import time
import uuid
from typing import Protocol
from urllib.parse import parse_qsl

import orjson

from pipelines import JSON

from ..data import ceil_div, parse_rfc3339_us
from ..runtime import Runtime
from ..wire import Reply, Request
from .dialogs import VENDOR
from .store import GenesysStore

_HEADERS = re.compile(r"^/api/v2/telephony/sipmessages/conversations/([^/]+)/headers/?$")
_MESSAGE = re.compile(r"^/api/v2/telephony/sipmessages/conversations/([^/]+)/?$")
_SIPTRACES = "/api/v2/telephony/siptraces"
_DOWNLOAD = "/api/v2/telephony/siptraces/download"
_DOWNLOAD_ONE = re.compile(r"^/api/v2/telephony/siptraces/download/([^/]+)/?$")


def error(
    status: int,
    code: str,
    message: str,
    params: dict[str, str] | None = None,
    headers: list[tuple[str, str]] | None = None,
    correlation: str | None = None,
) -> Reply:
    correlation = correlation or str(uuid.uuid4())
    with_params = message
    for k, v in (params or {}).items():
        message = message.replace("{" + k + "}", str(v))
    body = {
        "message": message,
        "code": code,
        "status": status,
        "messageWithParams": with_params,
        "messageParams": params or {},
        "contextId": correlation,
        "details": [],
        "errors": [],
    }
    return Reply.json(status, body, [("ININ-Correlation-Id", correlation), *(headers or [])])


def rate_limited(retry_after_s: int) -> Reply:
    return error(
        429,
        "too.many.requests.retry.after",
        "Rate limit exceeded the maximum. Retry the request in [{retryAfter}] seconds",
        {"retryAfter": str(retry_after_s)},
        [("Retry-After", str(retry_after_s))],
    )


def server_error(status: int) -> Reply:
    codes = {
        502: ("bad.gateway", "The server received an invalid response from an upstream server."),
        503: ("service.unavailable", "Service Unavailable - The server is currently unavailable."),
        504: ("gateway.timeout", "The request timed out."),
    }
    code, message = codes.get(status, ("internal.server.error", "The server encountered an unexpected error."))
    return error(status, code, message)


class Fail(Protocol):
    """An error reply of one request (its correlation id filled in)."""

    def __call__(self, status: int, code: str, message: str, params: dict[str, str] | None = None) -> Reply: ...


class GenesysApi:
    vendor = VENDOR
    fault_statuses = (502, 503, 504)  # the ones Genesys' SDKs retry

    def __init__(self, store: GenesysStore, client_id: str, client_secret: str, runtime: Runtime):
        self.store, self._rt = store, runtime
        self._basic = "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self._tokens: dict[str, float] = {}  # token -> wall-clock (monotonic) expiry
        self._downloads: dict[str, JSON] = {}  # downloadId -> the pcap request
        self._lock = threading.Lock()

    @staticmethod
    def endpoint(path: str) -> str:
        path = path.rstrip("/")
        if path == "/oauth/token":
            return "oauth/token"
        if path == _SIPTRACES:
            return "siptraces"
        if path == _DOWNLOAD or _DOWNLOAD_ONE.match(path):
            return "siptraces/download"
        if _HEADERS.match(path):
            return "sipmessages/headers"
        return "sipmessages" if _MESSAGE.match(path) else "other"

    def throttled(self) -> Reply:
        return rate_limited(1)

    def server_error(self, status: int) -> Reply:
        return server_error(status)

    def handle(self, req: Request) -> Reply:
        if req.path.rstrip("/") == "/oauth/token":
            return self._token(req)
        correlation = str(uuid.uuid4())
        reply = self._api(req, correlation)
        if not any(k == "ININ-Correlation-Id" for k, _ in reply.headers):
            reply.headers.append(("ININ-Correlation-Id", correlation))
        return reply

    def _token(self, req: Request) -> Reply:
        if req.method != "POST":
            return Reply.json(
                405, {"error": "invalid_request", "description": "POST required", "error_description": "POST required"}
            )
        if req.header("Authorization") != self._basic:
            return Reply.json(
                401, {"error": "invalid_client", "description": "client not found", "error_description": "client not found"}
            )
        form = dict(parse_qsl(req.body.decode("utf-8", "replace")))
        if form.get("grant_type") != "client_credentials":
            return Reply.json(
                400,
                {
                    "error": "unsupported_grant_type",
                    "description": "grant type not supported",
                    "error_description": "grant type not supported",
                },
            )
        ttl = self._rt.limits.genesys_token_ttl_s
        token = secrets.token_urlsafe(64)
        now = time.monotonic()
        with self._lock:
            self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now}
            self._tokens[token] = now + ttl
        return Reply.json(200, {"access_token": token, "token_type": "bearer", "expires_in": int(math.ceil(ttl))})

    def _api(self, req: Request, correlation: str) -> Reply:
        def fail(status: int, code: str, message: str, params: dict[str, str] | None = None) -> Reply:
            return error(status, code, message, params, correlation=correlation)

        auth = req.header("Authorization") or ""
        if not auth.lower().startswith("bearer "):
            return fail(401, "authentication.required", "No authentication bearer token specified in authorization header.")
        token = auth[7:].strip()
        expiry = self._tokens.get(token)
        if expiry is None or expiry <= time.monotonic():
            return fail(401, "bad.credentials", "Invalid login credentials.")
        rpm = self._rt.limits.genesys_rpm
        wait = self._rt.limiter.take("genesys:" + token, None if not rpm else rpm / 60, rpm or 1)
        if wait:
            return rate_limited(max(1, math.ceil(wait)))
        path = req.path.rstrip("/")
        if path == _DOWNLOAD and req.method == "POST":
            return self._request_pcap(req, fail)
        if req.method != "GET":
            return fail(405, "method.not.allowed", f"HTTP method {req.method} is not supported by this resource.")
        now_ms = self._rt.clock.now_ms()
        retention = self._rt.limits.genesys_retention_days
        if path == _SIPTRACES:
            return self._siptraces(req, now_ms, retention, fail)
        m = _DOWNLOAD_ONE.match(path)
        if m:
            return self._pcap_url(m.group(1), fail)
        m = _HEADERS.match(req.path)
        if m:
            found = self.store.conversation(m.group(1), now_ms, retention)
            if found is None:
                return fail(404, "not.found", "The requested resource was not found.")
            # SDKs send `keys` comma-separated or repeated; accept both.
            keys = ",".join(v for k, v in req.query if k == "keys")
            return Reply.json(200, headers_payload(m.group(1), found[2], keys))
        m = _MESSAGE.match(req.path)
        if m:
            found = self.store.conversation(m.group(1), now_ms, retention)
            if found is None:
                return fail(404, "not.found", "The requested resource was not found.")
            return Reply.json(
                200,
                {
                    "id": m.group(1),
                    "name": m.group(1),
                    "message": found[1],
                    "selfUri": f"/api/v2/telephony/sipmessages/conversations/{m.group(1)}",
                },
            )
        return fail(404, "not.found", f"Resource {req.path} was not found.")

    def _request_pcap(self, req: Request, fail: Fail) -> Reply:
        """The pcap export is only acknowledged: an id, then a signed URL to a file that the
        sandbox does not produce (callhouse does not load pcaps)."""
        try:
            body = orjson.loads(req.body or b"{}")
        except orjson.JSONDecodeError:
            return fail(400, "bad.request", "The request body is not valid JSON.")
        for name in ("dateStart", "dateEnd"):
            if not isinstance(body.get(name), str) or parse_rfc3339_us(body[name]) is None:
                return fail(400, "bad.request", "Missing or invalid value for {param}", {"param": name})
        digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
        download_id, document_id = str(uuid.UUID(digest[:32])), str(uuid.UUID(digest[32:]))
        self._downloads[download_id] = body
        return Reply.json(202, {"downloadId": download_id, "documentId": document_id})

    def _pcap_url(self, download_id: str, fail: Fail) -> Reply:
        if download_id not in self._downloads:
            return fail(404, "not.found", "The requested resource was not found.")
        sig = hashlib.sha256(download_id.encode()).hexdigest()
        url = (
            f"https://prod-euw1-telephony-pcap.s3.eu-west-1.amazonaws.com/{download_id}.pcap"
            f"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
            f"&X-Amz-Signature={sig}"
        )
        return Reply.json(
            200, {"id": download_id, "name": f"{download_id}.pcap", "url": url, "selfUri": f"{_DOWNLOAD}/{download_id}"}
        )

    def _siptraces(self, req: Request, now_ms: int, retention: float, fail: Fail) -> Reply:
        bounds = []
        for name in ("dateStart", "dateEnd"):
            value = req.arg(name)
            if not value:
                return fail(
                    400,
                    "bad.request",
                    "The request could not be understood by the server due to "
                    "malformed syntax. Missing required parameter: {param}",
                    {"param": name},
                )
            parsed = parse_rfc3339_us(value)
            if parsed is None:
                return fail(
                    400, "bad.request", "Invalid value for {param}: expected ISO-8601 yyyy-MM-ddTHH:mm:ss[.mmm]Z", {"param": name}
                )
            bounds.append(parsed)
        start_us, end_us = bounds
        if end_us < start_us:
            return fail(400, "bad.request", "dateEnd must not be before dateStart")
        rows = self.store.select(
            ceil_div(start_us, 1000),
            ceil_div(end_us, 1000),
            now_ms,
            retention,
            self._rt.faults.bad_record_rate,
            skip_bad=False,
            cap=max(0, int(self._rt.limits.genesys_result_cap)),
            callid=req.arg("callId") or None,
            from_user=req.arg("fromUser") or None,
            to_user=req.arg("toUser") or None,
            conversation=req.arg("conversationId") or None,
        )
        search_id = hashlib.sha256(req.path.encode() + repr(sorted(req.query)).encode()).hexdigest()
        head = orjson.dumps(
            {"id": str(uuid.UUID(search_id[:32])), "status": 200, "sid": search_id[32:48], "auth": "true", "message": "ok"}
        )
        body = b"".join(
            (
                head[:-1],
                b',"data":[',
                b",".join(rows),
                b'],"count":',
                str(len(rows)).encode(),
                b',"selfUri":',
                orjson.dumps(_SIPTRACES),
                b"}",
            )
        )
        return Reply(200, body, records=len(rows))


def headers_payload(conversation_id: str, headers: dict[str, list[str]], keys: str | None) -> dict[str, object]:
    if keys:
        wanted = {k.strip().lower() for k in keys.split(",") if k.strip()}
        headers = {k: v for k, v in headers.items() if k in wanted}
    return {
        "id": conversation_id,
        "name": conversation_id,
        "headers": headers,
        "selfUri": f"/api/v2/telephony/sipmessages/conversations/{conversation_id}/headers",
    }
