"""The one place that runs a stand-in server on a free loopback port.

Every HTTP stand-in (embedding services, Slack's Web API, Discord's REST API)
subclasses :class:`LoopbackHTTPService`: a threaded server on ``127.0.0.1:0``
with a deep accept backlog (bursts of requests must not be reset), started and
stopped as a context manager, shutting down within 50 ms. Every WebSocket
stand-in (Slack's Socket Mode, Discord's Gateway) subclasses
:class:`LoopbackWebSocketService` the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import SplitResult, urlsplit

from websockets.sync.server import Server, ServerConnection, serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # bursts of requests must not overflow the accept backlog


class StubRequestHandler(BaseHTTPRequestHandler):
    """A silent HTTP/1.1 handler with the request reading and answer writing
    every HTTP stand-in does the same way."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def read_request(self) -> tuple[SplitResult, str, dict[str, str]]:
        """The request's URL, its body as text, and its headers with lower-case names."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8") if length else ""
        return urlsplit(self.path), raw, {k.lower(): v for k, v in self.headers.items()}

    def send_answer(self, status: int, payload: bytes, content_type: str | None, extra: dict[str, str]) -> None:
        """Write the status line, the headers (``extra`` last) and ``payload``."""
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class LoopbackHTTPService:
    """Serves ``handler`` on 127.0.0.1:<free port> in a background thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"


class LoopbackWebSocketService:
    """Serves ``handle`` (one call per WebSocket connection) on
    ``ws://127.0.0.1:<free port>`` in a background thread."""

    def __init__(self, handle: Callable[[ServerConnection], None]) -> None:
        self._server: Server = serve(handle, "127.0.0.1", 0, compression=None)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()

    @property
    def ws_origin(self) -> str:
        """``ws://127.0.0.1:<port>``."""
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}"
