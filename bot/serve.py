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

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.app import drain
from bot.http_server import EVENTS_PATH, HEALTH_PATH, BotHTTPServer
from faq_core.engine import FAQEngine

log = logging.getLogger(__name__)


def run_socket_mode(app: App, app_token: str, stop: threading.Event) -> None:
    """Connect over Socket Mode and serve until ``stop`` is set. Raises
    ``SlackApiError`` when Slack refuses the app-level token."""
    handler = SocketModeHandler(app, app_token=app_token)
    handler.connect()
    log.info("connected to Slack over Socket Mode; waiting for mentions, DMs and /faq")
    try:
        stop.wait()
    finally:
        handler.close()
        drain(app)
        log.info("Socket Mode connection closed; pending replies sent")


def run_http(app: App, engine: FAQEngine, host: str, port: int, stop: threading.Event) -> None:
    """Serve Slack's requests on ``host:port`` until ``stop`` is set."""
    server = BotHTTPServer(app, engine, host, port)
    server.start_background()
    log.info("listening on http://%s:%d%s (health: %s)", host, server.port, EVENTS_PATH, HEALTH_PATH)
    try:
        stop.wait()
    finally:
        server.shutdown()
        server.server_close()
        drain(app)
        log.info("HTTP server stopped")
