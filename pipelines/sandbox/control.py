"""`/_sandbox/...`: the Python interface over HTTP (no auth), for a sandbox in another process
(`callhouse sandbox`).

GET  /_sandbox/truth/{vendor}?start=ISO&end=ISO[&include_bad=1]
GET  /_sandbox/truth/{vendor}/bad[?start=ISO&end=ISO]
GET  /_sandbox/truth/{vendor}/{lookup}/{key}    a part's lookup, e.g. genesys/headers/{conversationId}
GET  /_sandbox/clock                POST {"advance_s": N} or {"now": ISO}
GET  /_sandbox/faults               POST {field: value, ...} (fault and limit fields)
GET  /_sandbox/stats                POST /_sandbox/stats/reset
GET  /_sandbox/env
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import orjson

from .config import set_fields
from .part import parts
from .wire import Reply, Request

if TYPE_CHECKING:
    from . import Sandbox


def _bad_request(message: str) -> Reply:
    return Reply.json(400, {"error": message})


class ControlApi:
    def __init__(self, sandbox: Sandbox):
        self._sb = sandbox

    def __call__(self, req: Request) -> Reply:
        parts = [p for p in req.path.split("/") if p][1:]  # after "_sandbox"
        try:
            return self._route(req, parts)
        except (ValueError, TypeError, KeyError) as exc:
            return _bad_request(f"{type(exc).__name__}: {exc}")

    def _route(self, req: Request, parts: list[str]) -> Reply:
        sb = self._sb
        if parts[:1] == ["truth"] and req.method == "GET":
            return self._truth(req, parts[1:])
        if parts == ["clock"]:
            if req.method == "POST":
                body = orjson.loads(req.body or b"{}")
                if "advance_s" in body:
                    sb.runtime.clock.advance_seconds(float(body["advance_s"]))
                elif "now" in body:
                    sb.set_now(body["now"])
                else:
                    return _bad_request('POST {"advance_s": N} or {"now": ISO}')
            return Reply.json(200, {"now": sb.now().isoformat()})
        if parts == ["faults"]:
            if req.method == "POST":
                body = orjson.loads(req.body or b"{}")
                unknown = [k for k in body if k not in self._fields()]
                if unknown:
                    return _bad_request(f"unknown fields: {', '.join(unknown)}")
                set_fields(sb.faults, {k: v for k, v in body.items() if k in self._fault_fields()})
                set_fields(sb.limits, {k: v for k, v in body.items() if k not in self._fault_fields()})
            return Reply.json(200, {**dataclasses.asdict(sb.faults), **dataclasses.asdict(sb.limits)})
        if parts == ["stats"]:
            return Reply.json(200, sb.stats())
        if parts == ["stats", "reset"] and req.method == "POST":
            sb.reset_stats()
            return Reply.json(200, sb.stats())
        if parts == ["env"]:
            return Reply.json(200, sb.env())
        return Reply.json(404, {"error": f"no control endpoint {req.method} {req.path}", "see": __doc__})

    def _fault_fields(self) -> set[str]:
        return {f.name for f in dataclasses.fields(self._sb.faults)}

    def _fields(self) -> set[str]:
        return self._fault_fields() | {f.name for f in dataclasses.fields(self._sb.limits)}

    def _truth(self, req: Request, path: list[str]) -> Reply:
        truth, served = self._sb.truth, {p.name: p for p in parts()}
        if not path or path[0] not in served:
            return _bad_request(f"vendor must be one of {', '.join(served)}")
        vendor = served[path[0]]
        if len(path) == 3 and path[1] in vendor.lookups:
            found = vendor.lookups[path[1]](self._sb, path[2])
            if found is None:
                return Reply.json(404, {"error": f"no such {path[1]} key (or not started, or past retention)"})
            return Reply.json(200, found)
        if path[1:] == ["bad"]:
            return Reply.json(200, truth.bad_records(vendor.name, req.arg("start"), req.arg("end")))
        if path[1:]:
            return _bad_request("unknown truth path")
        start, end = req.arg("start"), req.arg("end")
        if not start or not end:
            return _bad_request("start and end (ISO-8601) are required")
        include_bad = (req.arg("include_bad") or "").lower() in ("1", "true", "yes")
        return Reply.json(200, truth.records(vendor.name, start, end, include_bad=include_bad))
