"""Running the app over one of Slack's two transports until told to stop.

- Socket Mode (``SLACK_APP_TOKEN``): the app opens a WebSocket to Slack
  (``apps.connections.open``) and receives everything through it. No public
  URL is needed, which is why it is the usual choice inside a company.
- HTTP mode (``--http``): Slack POSTs signed requests to a public URL
  (``/slack/events``); needed where outbound WebSockets are not allowed or
  for running several replicas behind a load balancer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_sdk.socket_mode.builtin.client import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from starlette.routing import BaseRoute

from bot.ops.metrics import Metrics
from bot.ops.readiness import Readiness
from bot.serving.holder import ServingEngine
from bot.slack.app import drain
from bot.slack.http_server import EVENTS_PATH, HEALTH_PATH, METRICS_PATH, READY_PATH, BotHTTPServer
from bot.slack.validation import problem
from bot.store.database import Store
from faq_core.engine import FAQEngine

log = logging.getLogger(__name__)


class CheckedSocketModeHandler(SocketModeHandler):
    """Bolt's Socket Mode handler, refusing what ``bot.slack.validation`` names
    (an empty ack and one log line) before Bolt reads it, as HTTP mode does.
    An envelope no listener handles (Bolt's 404) is acknowledged too: Bolt
    would leave it unacknowledged, and Slack would resend it in vain."""

    def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        found = problem(req.payload)
        if found:
            log.info("dropped a malformed Socket Mode %s envelope: %s", req.type, found)
            client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        start = time.time()
        response = run_bolt_app(self.app, req)
        if response.status == 404:  # Bolt has logged "Unhandled request" in one line
            client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        send_response(client, req, response, start)


SOCKET_CLOSE_SECONDS = 10.0


def close_socket_mode(handler: SocketModeHandler, timeout: float = SOCKET_CLOSE_SECONDS) -> bool:
    """Close the Socket Mode connection, waiting at most ``timeout`` seconds;
    returns whether it closed in time. slack_sdk's ``close`` joins its session
    thread without a timeout, and a session that was reconnecting as it closed
    can leave that thread waiting for ever (seen on a loaded machine), which
    would hang shutdown. The wait is bounded here; the thread is a daemon, so
    the process still exits."""
    closer = threading.Thread(target=handler.close, name="faq-bot-socket-close", daemon=True)
    closer.start()
    closer.join(timeout)
    if closer.is_alive():
        log.warning("the Socket Mode connection did not close within %.0f s; stopping anyway", timeout)
        return False
    return True


def run_socket_mode(handler: SocketModeHandler, stop: threading.Event, *, deadline: float | None = None) -> int:
    """Connect over Socket Mode and serve until ``stop`` is set. On stop:
    close the connection (no new events), then give the work in flight
    ``deadline`` seconds. Returns how many rows were handed back. Raises
    ``SlackApiError`` when Slack refuses the app-level token, ``OSError``
    when it cannot be reached."""
    try:
        handler.connect()
        log.info("connected to Slack over Socket Mode; waiting for mentions, DMs and /faq")
        stop.wait()
    finally:
        close_socket_mode(handler)
        log.info("Socket Mode connection closed; finishing the replies in progress")
        handed = drain(handler.app, deadline)
        log.info("stopped")
    return handed


def run_http(app: App, engine: FAQEngine | ServingEngine, host: str, port: int, stop: threading.Event, *,
             signing_secret: str, store: Store | None = None, readiness: Readiness | None = None,
             metrics: Metrics | None = None, deadline: float | None = None, routes: Sequence[BaseRoute] = ()) -> int:
    """Serve Slack's requests (the operations endpoints, checking
    ``readiness``, and ``routes`` beside them) on ``host:port`` until
    ``stop`` is set; then stop accepting and give the work in flight
    ``deadline`` seconds. Returns how many rows were handed back. Raises
    ``OSError`` when the address cannot be bound (e.g. already in use)."""
    server = BotHTTPServer(app, engine, host, port, signing_secret=signing_secret, store=store, readiness=readiness,
                           metrics=metrics, routes=routes)
    server.start_background()
    log.info("listening on http://%s:%d%s (liveness: %s, readiness: %s, metrics: %s)", host, server.port,
             EVENTS_PATH, HEALTH_PATH, READY_PATH, METRICS_PATH)
    try:
        stop.wait()
    finally:
        server.shutdown()
        server.server_close()
        handed = drain(app, deadline)
        log.info("HTTP server stopped")
    return handed
