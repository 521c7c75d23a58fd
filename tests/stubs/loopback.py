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
from typing import Self

from websockets.sync.server import Server, ServerConnection, serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # bursts of requests must not overflow the accept backlog


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
