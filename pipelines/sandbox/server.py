"""HTTP/1.1 transport: a threading server on loopback that turns requests into `Request`s,
hands them to one dispatch function and writes its `Reply` back (or drops the connection).

Kept thin and fast: keep-alive, TCP_NODELAY, one pre-built header block per reply, no logging.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

from .wire import Reply, Request

Dispatch = Callable[[Request], "Reply | None"]  # None = drop the connection without a reply

_REASONS = {s.value: s.phrase for s in HTTPStatus}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "callhouse-sandbox"
    sys_version = ""
    timeout = 300  # reclaim the threads of clients that keep idle connections open
    server: HttpServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as separate sends; without this Nagle + delayed ACK add 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        req = Request(
            self.command, unquote(url.path), parse_qsl(url.query, keep_blank_values=True), self.headers, body, f"http://{host}"
        )
        reply = self.server.dispatch(req)
        if reply is None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        head = [
            f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Unknown')}",
            f"Content-Type: {reply.content_type}",
            f"Content-Length: {len(reply.body)}",
            f"Date: {self.date_time_string()}",
            "Server: callhouse-sandbox",
        ]
        head += [f"{k}: {v}" for k, v in reply.headers]
        if self.close_connection:
            head.append("Connection: close")
        raw_head = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        if self.command == "HEAD":
            self.connection.sendall(raw_head)
        elif len(reply.body) < 65536:
            self.connection.sendall(raw_head + reply.body)
        else:
            self.connection.sendall(raw_head)
            self.connection.sendall(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve


class HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, host: str, port: int, dispatch: Dispatch):
        super().__init__((host, port), _Handler)
        self.dispatch = dispatch
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]  # = server_address, whose type also allows a Unix path
        return f"http://{host}:{port}"

    def track(self, conn: socket.socket) -> None:
        with self._open_lock:
            self._open.add(conn)

    def untrack(self, conn: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(conn)

    def start_background(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.1}, name="callhouse-sandbox", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, then cut kept-alive connections so no client talks to a dead sandbox."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        with self._open_lock:
            conns, self._open = list(self._open), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.server_close()
