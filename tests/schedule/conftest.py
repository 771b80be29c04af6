"""The scheduled job's parts: a small load from the sandbox, and a webhook receiver on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import TEST_NOW

DAY = TEST_NOW.start_of("day")
NIGHTLY_START = DAY  # the first nightly run loads today so far
# Small volumes and no pacing: the loads wait on the pipeline, not on the clock.
SANDBOX = dict(cinnox_calls_per_day=200, bandwidth_calls_per_day=150, genesys_dialogs_per_day=40)
FAST_ENV = {
    "SOURCES__BANDWIDTH__REQUESTS_PER_SECOND": "100000",
    "SOURCES__GENESYS__REQUESTS_PER_MINUTE": "6000000",
    "REPORTING__TIMEZONE": "UTC",
    **{f"SOURCES__{s}__START_DATE": NIGHTLY_START.isoformat() for s in ("CINNOX", "BANDWIDTH", "GENESYS")},
}
# The part of a Slack-like webhook URL that is its secret: never in output or the message.
HOOK_SECRET = "T0SECRET/B0SECRET/xoxsecretpathpart"


@dataclass
class Receiver:
    """A webhook receiver on loopback answering `status` (or never, with `status=None`)."""

    status: int | None = 200
    bodies: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # time.monotonic() of each post
    url: str = ""
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def posts(self) -> int:
        return len(self.paths)


@pytest.fixture
def receiver() -> Iterator[Any]:
    """`receiver(status)`: a started receiver; its URL carries HOOK_SECRET in the path."""
    servers: list[tuple[ThreadingHTTPServer, Receiver]] = []

    def make(status: int | None = 200) -> Receiver:
        state = Receiver(status)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                state.arrivals.append(time.monotonic())
                state.paths.append(self.path)
                state.bodies.append(json.loads(body))
                if state.status is None:
                    state.release.wait(60)  # never answers while the test runs
                    return
                self.send_response(state.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        state.url = f"http://127.0.0.1:{server.server_address[1]}/services/{HOOK_SECRET}"
        servers.append((server, state))
        return state

    yield make
    for server, state in servers:
        state.release.set()
        server.shutdown()
        server.server_close()
