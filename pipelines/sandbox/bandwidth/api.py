"""`GET /v1/users/{userId}/calls/`: basic auth, validation, page/size paging with Link headers."""

from __future__ import annotations

import base64
import re
import time
from urllib.parse import urlencode

from ..data import ceil_div
from ..runtime import Runtime
from ..wire import Reply, Request
from .records import VENDOR
from .store import BandwidthStore

DEFAULT_SIZE, MAX_SIZE = 25, 1000


_LIST = re.compile(r"^/v1/users/([^/]+)/calls/?$")
_ONE = re.compile(r"^/v1/users/([^/]+)/calls/([^/]+)/?$")


def error(
    status: int,
    category: str,
    code: str,
    message: str,
    details: list[dict[str, str]] | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> Reply:
    return Reply.json(status, {"category": category, "code": code, "message": message, "details": details or []}, headers)


def rate_limited(wait_s: float, per_second: float | None = 1.0) -> Reply:
    reset_ms = int((time.time() + wait_s) * 1000)
    interval_ms = round(1000 / per_second) if per_second else 1000
    return error(
        429,
        "too-many-requests",
        "rate-limit-reached",
        f"You have exceeded the rate limit of 1 request per {interval_ms} ms for this API",
        headers=[("X-RateLimit-Reset", str(reset_ms))],
    )


def server_error(status: int) -> Reply:
    return error(
        status,
        "internal-server-error" if status == 500 else "service-unavailable",
        "internal-error" if status == 500 else "service-unavailable",
        "The server encountered an unexpected condition",
    )


def _validation(name: str, value: str, message: str) -> Reply:
    return error(400, "bad-request", "validation-error", message, [{"name": name, "value": value}])


class BandwidthApi:
    vendor = VENDOR
    fault_statuses = (500, 502, 503)

    def __init__(self, store: BandwidthStore, user_id: str, api_token: str, api_secret: str, runtime: Runtime):
        self.store, self.user_id, self._rt = store, user_id, runtime
        self.api_token, self._api_secret = api_token, api_secret

    @staticmethod
    def endpoint(path: str) -> str:
        return "calls" if _LIST.match(path) else ("call" if _ONE.match(path) else "other")

    def throttled(self) -> Reply:
        return rate_limited(1.0)

    def server_error(self, status: int) -> Reply:
        return server_error(status)

    def handle(self, req: Request) -> Reply:
        many, one = _LIST.match(req.path), _ONE.match(req.path)
        m = many or one
        if not m:
            return error(404, "not-found", "resource-not-found", f"The resource {req.path} was not found")
        if req.method != "GET":
            return error(405, "bad-request", "method-not-allowed", f"Method {req.method} is not allowed here")
        if not self._authorized(req.header("Authorization") or ""):
            return error(401, "unauthorized", "unauthorized", "Authentication failed: invalid api token or secret")
        if m.group(1) != self.user_id:
            return error(
                403,
                "authorization",
                "user-access-denied",
                "The user does not have access to this API",
                [{"name": "userId", "value": m.group(1)}],
            )
        rps = self._rt.limits.bandwidth_rps
        wait = self._rt.limiter.take("bandwidth:" + self.api_token, rps, rps or 1)
        if wait:
            return rate_limited(wait, rps)
        now_ms = self._rt.clock.now_ms()
        bad_rate = self._rt.faults.bad_record_rate
        if one:
            found = self.store.find(one.group(2), now_ms)
            if found is None:
                return error(404, "not-found", "call-not-found", f"The call {one.group(2)} could not be found")
            return Reply(200, self.store.served(*found, now_ms, bad_rate), records=1)
        return self._list(req, now_ms, bad_rate)

    def _authorized(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        try:
            user, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return scheme.lower() == "basic" and user == self.api_token and password == self._api_secret

    def _list(self, req: Request, now_ms: int, bad_rate: float) -> Reply:
        raw_page, raw_size = req.arg("page"), req.arg("size")
        try:
            page = int(raw_page) if raw_page not in (None, "") else 0
        except ValueError:
            return _validation("page", raw_page or "", "page must be a non-negative integer")
        if page < 0:
            return _validation("page", raw_page or "", "page must be a non-negative integer")
        try:
            size = int(raw_size) if raw_size not in (None, "") else DEFAULT_SIZE
        except ValueError:
            return _validation("size", raw_size or "", f"size must be an integer between 1 and {MAX_SIZE}")
        if not 1 <= size <= MAX_SIZE:
            return _validation("size", raw_size or "", f"size must be an integer between 1 and {MAX_SIZE}")
        order = req.arg("sortOrder") or "desc"
        if order not in ("asc", "desc"):
            return _validation("sortOrder", order, "sortOrder must be asc or desc")
        desc = order == "desc" or self._rt.limits.bandwidth_ignores_sort_order
        frm, to = req.arg("from") or None, req.arg("to") or None
        bridge, conference = req.arg("bridgeId") or None, req.arg("conferenceId") or None

        if bridge or conference:  # "pagination do not apply"
            hits = self.store.matching(now_ms, frm, to, bridge, conference)
            rows = [self.store.served(d, i, now_ms, bad_rate) for d, i in (reversed(hits) if desc else hits)]
            return Reply(200, b"[" + b",".join(rows) + b"]", records=len(rows))
        if frm or to:
            hits = self.store.matching(now_ms, frm, to, None, None)
            total = len(hits)
            lo, hi = page * size, min((page + 1) * size, total)
            if desc:
                lo, hi = total - hi, total - lo
            chosen = hits[lo:hi] if lo < hi else []
            rows = [self.store.served(d, i, now_ms, bad_rate) for d, i in chosen]
            if desc:
                rows.reverse()
        else:
            rows, total = self.store.page(now_ms, page, size, desc, bad_rate)
        links = self._links(req, page, size, total, bare=self._rt.limits.bandwidth_bare_links)
        return Reply(200, b"[" + b",".join(rows) + b"]", [("Link", links)], records=len(rows))

    @staticmethod
    def _links(req: Request, page: int, size: int, total: int, bare: bool = False) -> str:
        others = [] if bare else [(k, v) for k, v in req.query if k not in ("page", "size")]

        def url(p: int) -> str:
            return f"{req.base_url}{req.path}?{urlencode([('page', p), ('size', size), *others])}"

        last = max(0, ceil_div(total, size) - 1)
        links = [f'<{url(0)}>; rel="first"']
        if page > 0:
            links.append(f'<{url(page - 1)}>; rel="previous"')
        if (page + 1) * size < total:
            links.append(f'<{url(page + 1)}>; rel="next"')
        links.append(f'<{url(last)}>; rel="last"')
        return ", ".join(links)
