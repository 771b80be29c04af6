"""`GET /v1/api/apps/{appID}/data/call-detail`: auth, parameter validation, offset paging."""

from __future__ import annotations

import math
import re

from ..data import ceil_div, parse_rfc3339_us
from ..runtime import Runtime
from ..wire import Reply, Request
from .records import CALL_TYPES, STATUS_NAMES, VENDOR
from .store import CinnoxStore

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


_PATH = re.compile(r"^/v1/api/apps/([^/]+)/data/call-detail/?$")
PARAM_ERROR = 6451000
METHOD_NOT_FOUND = 6450001
TOO_MANY_REQUESTS = 6451010
INTERNAL_ERROR = 6451001
UNAUTHORIZED = 6450011
FORBIDDEN = 6450013


def error(status: int, code: int, message: str, headers: list[tuple[str, str]] | None = None) -> Reply:
    return Reply.json(status, {"code": code, "message": message}, headers)


def rate_limited(retry_after_s: int) -> Reply:
    return error(429, TOO_MANY_REQUESTS, "Too many requests", [("Retry-After", str(retry_after_s))])


def server_error(status: int) -> Reply:
    return error(status, INTERNAL_ERROR, "internal error")


class CinnoxApi:
    vendor = VENDOR
    fault_statuses = (500, 502, 503)

    def __init__(self, store: CinnoxStore, app_id: str, app_token: str, runtime: Runtime) -> None:
        self.store, self.app_id, self.app_token, self._rt = store, app_id, app_token, runtime

    @staticmethod
    def endpoint(path: str) -> str:
        return "call-detail" if _PATH.match(path) else "other"

    def throttled(self) -> Reply:
        return rate_limited(1)

    def server_error(self, status: int) -> Reply:
        return server_error(status)

    def handle(self, req: Request) -> Reply:
        m = _PATH.match(req.path)
        if not m or req.method != "GET":
            return error(404, METHOD_NOT_FOUND, "method not found")
        scheme, _, token = (req.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() != self.app_token:
            return error(401, UNAUTHORIZED, "Unauthorized: invalid or missing app token")
        if m.group(1) != self.app_id:
            return error(403, FORBIDDEN, "Forbidden: the app token does not grant access to this app")
        rps = self._rt.limits.cinnox_rps
        wait = self._rt.limiter.take("cinnox:" + self.app_token, rps, rps or 1)
        if wait:
            return rate_limited(max(1, math.ceil(wait)))
        return self._call_detail(req)

    def _call_detail(self, req: Request) -> Reply:
        start_at, end_at = req.arg("startAt") or "", req.arg("endAt") or ""
        if bool(start_at) != bool(end_at):
            return error(400, PARAM_ERROR, "missing one of startAt, endAt")
        lo_ms, hi_ms = None, None
        if start_at:
            start_us, end_us = parse_rfc3339_us(start_at), parse_rfc3339_us(end_at)
            if start_us is None or end_us is None:
                return error(400, PARAM_ERROR, "Bad query")
            if end_us < start_us:
                return error(400, PARAM_ERROR, "endAt is prior to startAt")
            lo_ms, hi_ms = ceil_div(start_us, 1000), end_us // 1000
        try:
            offset = int(req.arg("offset") or 0)
            limit = int(req.arg("limit") or 0)
        except ValueError:
            return error(400, PARAM_ERROR, "Bad query")
        if offset < 0:
            return error(400, PARAM_ERROR, "negative offset")
        if limit < 0:
            return error(400, PARAM_ERROR, "negative limit")
        if limit > MAX_LIMIT:
            return error(400, PARAM_ERROR, f"exceed maximum limit {MAX_LIMIT}")
        limit = limit or DEFAULT_LIMIT
        call_type = req.arg("callType") or None
        if call_type is not None and call_type not in CALL_TYPES:
            return error(400, PARAM_ERROR, "Bad query")
        status = req.arg("status") or None
        now_ms = self._rt.clock.now_ms()
        rows = self.store.select(
            lo_ms,
            now_ms if hi_ms is None else hi_ms,
            now_ms,
            call_type=None if call_type is None else CALL_TYPES.index(call_type),
            status=None if status is None else (STATUS_NAMES.index(status) if status in STATUS_NAMES else 254),
            bad_rate=self._rt.faults.bad_record_rate,
        )
        page = rows[offset : offset + limit]
        return Reply(200, b'{"code":0,"result":[' + b",".join(page) + b"]}", records=len(page))
