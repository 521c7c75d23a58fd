"""HTTP mode: Slack's requests on ``POST /slack/events``, and ``GET /healthz``.

A small threaded stdlib server around ``App.dispatch``: each request is read,
handed to Bolt (which verifies the signature and timestamp, and answers 401
otherwise), and Bolt's response is written back. ``/healthz`` says the bot is
up and which index it serves, for load balancers and container probes.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from slack_bolt import App, BoltRequest, BoltResponse

from bot.pool import prestarted_pool
from faq_core.engine import FAQEngine

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY_BYTES = 1 << 20  # Slack's payloads are far smaller
CONNECTION_THREADS = 64
# An idle keep-alive connection gives its pool thread back after this many seconds.
IDLE_CONNECTION_SECONDS = 10


class BotHTTPServer(ThreadingHTTPServer):
    """Serves one Bolt app; ``port=0`` picks a free port (see :attr:`port`).

    Connections are handled by a pool of threads started up front (see
    ``bot.pool``) rather than a new thread per connection, so a burst of
    events is acknowledged without waiting for thread start-ups."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # Slack delivers bursts (a busy channel, retries): the stdlib default
    # backlog of 5 would reset connections and cost a 1 s SYN retry each.
    request_queue_size = 128

    def __init__(self, app: App, engine: FAQEngine, host: str = "0.0.0.0", port: int = 3000,
                 *, threads: int = CONNECTION_THREADS) -> None:
        self.app = app
        self.engine = engine
        super().__init__((host, port), _Handler)
        self._pool = prestarted_pool(threads, "faq-bot-http")

    def process_request(self, request: Any, client_address: Any) -> None:
        """Hand the connection to a pool thread (the stdlib would start a new one)."""
        self._pool.submit(self.process_request_thread, request, client_address)

    def server_close(self) -> None:
        """Stop listening and let the pool threads go."""
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    @property
    def port(self) -> int:
        """The port actually bound."""
        return int(self.server_address[1])

    def start_background(self) -> threading.Thread:
        """Serve on a daemon thread (tests, benchmarks); stop with ``shutdown()``."""
        thread = threading.Thread(target=self.serve_forever, name="faq-bot-http", daemon=True)
        thread.start()
        return thread

    def health(self) -> dict[str, Any]:
        """What ``/healthz`` reports."""
        info = self.engine.info
        return {"ok": True, "index": info.source, "revision": info.revision, "faqs": info.faq_count,
                "model": info.model_id}


class _Handler(BaseHTTPRequestHandler):
    server: BotHTTPServer
    protocol_version = "HTTP/1.1"
    timeout = IDLE_CONNECTION_SECONDS

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: dict[str, Any]) -> None:
        self._send(status, json.dumps(data).encode(), {"Content-Type": "application/json"})

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == HEALTH_PATH:
            self._json(200, self.server.health())
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if url.path != EVENTS_PATH:
            self.rfile.read(min(length, MAX_BODY_BYTES))
            self._json(404, {"error": "not found"})
            return
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._json(413, {"error": "request too large"})
            return
        body = self.rfile.read(length).decode("utf-8", "replace")
        headers: dict[str, str | Sequence[str]] = {k.lower(): v for k, v in self.headers.items()}
        request = BoltRequest(body=body, query=url.query, headers=headers)
        try:
            response: BoltResponse = self.server.app.dispatch(request)
        except Exception:
            log.exception("dispatching a Slack request failed")
            self._json(500, {"error": "internal error"})
            return
        out_headers = {name: values[0] for name, values in response.headers.items() if values}
        self._send(response.status, (response.body or "").encode(), out_headers)
