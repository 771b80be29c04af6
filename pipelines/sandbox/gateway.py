"""The front door of every request: to the control API or to a vendor endpoint, with the
injected faults applied on the way and the stats counted."""

from __future__ import annotations

import time
from collections.abc import Callable

from .faults import (
    DROP,
    ERROR_5XX,
    HTML_200,
    HTML_ERROR_PAGE,
    NON_JSON,
    NON_JSON_BODY,
    RATE_429,
    TRUNCATED,
    FaultPlan,
    truncate,
)
from .runtime import Runtime
from .stats import Stats
from .wire import Reply, Request, VendorApi


class Gateway:
    def __init__(
        self,
        apis: list[tuple[str, VendorApi]],
        control: Callable[[Request], Reply],
        runtime: Runtime,
        plan: FaultPlan,
        stats: Stats,
    ):
        self._apis = apis  # (path prefix, endpoint)
        self._control, self._rt, self._plan, self._stats = control, runtime, plan, stats

    def __call__(self, req: Request) -> Reply | None:
        if req.path.startswith("/_sandbox"):
            return self._control(req)
        api = next((a for prefix, a in self._apis if req.path.startswith(prefix)), None)
        if api is None:
            return Reply.json(404, {"message": f"the sandbox serves no endpoint at {req.path}"})
        vendor = api.vendor
        self._stats.request(vendor, api.endpoint(req.path))
        faults = self._rt.faults
        fault, v = self._plan.draw(vendor)
        if faults.latency_ms and vendor in faults.vendors:
            time.sleep(faults.latency_ms / 1000)
        if fault == DROP:
            self._stats.dropped(vendor)
            return None
        if fault == ERROR_5XX:
            reply = api.server_error(api.fault_statuses[int(v * len(api.fault_statuses))])
        elif fault == RATE_429:
            reply = api.throttled()
        else:
            reply = api.handle(req)
            if fault == HTML_200:
                reply = Reply(200, HTML_ERROR_PAGE, content_type="text/html; charset=utf-8")
            elif fault == TRUNCATED:
                reply.body = truncate(reply.body, v)
            elif fault == NON_JSON:
                reply = Reply(200, NON_JSON_BODY, content_type="text/plain; charset=utf-8")
        self._stats.reply(vendor, reply.status, reply.records)
        return reply
