"""What passes between the HTTP server and the vendor modules: a parsed request and a reply."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import orjson

APPLICATION_JSON = "application/json"


class Headers(Protocol):
    """Request headers, looked up case-insensitively (http.server's email.message.Message)."""

    def get(self, name: str) -> str | None: ...


@dataclass
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: Headers
    body: bytes
    base_url: str  # scheme://host[:port] as the client addressed us, for absolute links

    def arg(self, name: str) -> str | None:
        for k, v in self.query:
            if k == name:
                return v
        return None

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = APPLICATION_JSON
    records: int = 0  # records served, for stats

    @classmethod
    def json(cls, status: int, payload: object, headers: list[tuple[str, str]] | None = None) -> Reply:
        return cls(status, orjson.dumps(payload), headers or [])


# What a vendor part serves its API with (the gateway routes to it by path prefix).
class VendorApi(Protocol):
    @property
    def vendor(self) -> str: ...
    @property
    def fault_statuses(self) -> tuple[int, ...]: ...

    def endpoint(self, path: str) -> str: ...
    def handle(self, req: Request) -> Reply: ...
    def throttled(self) -> Reply: ...
    def server_error(self, status: int) -> Reply: ...
