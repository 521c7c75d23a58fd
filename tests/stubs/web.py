"""A scripted web server on a free loopback port, for fetching FAQ pages.

Each path answers what a test put there with :meth:`WebStub.route`: a status,
headers, a body, and how it arrives (after a delay, a byte at a time, gzip
encoded). Redirects are routes with a ``Location`` header. Unknown paths answer
404. Tests read :attr:`WebStub.requests` (path with query, lower-case headers).
"""

from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.stubs.loopback import LoopbackHTTPService, StubRequestHandler


@dataclass
class Page:
    """One scripted answer."""

    body: bytes = b""
    content_type: str | None = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # before the status line
    trickle: float | None = None  # seconds between single bytes of the body
    gzip: bool = False
    length: bool = True  # send Content-Length (else the body ends when the connection closes)


@dataclass
class Seen:
    """One request received."""

    path: str
    headers: dict[str, str]


class WebStub(LoopbackHTTPService):
    """Serves scripted pages; use as a context manager."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.requests: list[Seen] = []
        self.lock = threading.Lock()
        stub = self

        class Handler(StubRequestHandler):
            def do_GET(self) -> None:
                stub.answer(self)

        super().__init__(Handler)

    def route(self, path: str, page: Page) -> str:
        """Serve ``page`` at ``path``; returns its full URL."""
        self.pages[path] = page
        return self.url(path)

    def url(self, path: str) -> str:
        """The full URL of ``path`` on this server."""
        return f"{self.origin}{path}"

    def answer(self, handler: Any) -> None:
        """Write the scripted answer for the request ``handler`` holds."""
        with self.lock:
            self.requests.append(Seen(handler.path, {k.lower(): v for k, v in handler.headers.items()}))
        page = self.pages.get(handler.path) or self.pages.get(handler.path.split("?", 1)[0])
        if page is None:
            handler.send_answer(404, b"not here", "text/plain", {})
            return
        if page.delay:
            time.sleep(page.delay)
        body = gzip.compress(page.body) if page.gzip else page.body
        handler.send_response(page.status)
        if page.content_type:
            handler.send_header("Content-Type", page.content_type)
        if page.gzip:
            handler.send_header("Content-Encoding", "gzip")
        if page.length:
            handler.send_header("Content-Length", str(len(body)))
        else:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        for name, value in page.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        try:
            if page.trickle is None:
                handler.wfile.write(body)
                return
            for index in range(len(body)):
                handler.wfile.write(body[index:index + 1])
                handler.wfile.flush()
                time.sleep(page.trickle)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should
