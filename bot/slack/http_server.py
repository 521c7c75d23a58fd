"""HTTP mode's server: uvicorn (asyncio, h11) running :class:`bot.slack.http_app.SlackHTTPApp`.

Why uvicorn: on an event loop a connection that sends slowly costs a socket
and a few kilobytes, not a thread, so slow or idle clients cannot use up the
workers that acknowledge Slack (the hand-written threaded server it replaces
was starved by 70 such connections). h11 refuses malformed HTTP (a
non-numeric ``Content-Length``, oversized headers) with a 400 before the app
runs. One process is enough here: answering happens on the app's worker pool
and the model is in-process; more capacity means more replicas.

uvicorn has no deadline for a request's head: a client that sends one header
line every few seconds would hold its connection forever. The protocol below
closes a connection whose request head has not arrived within
``Limits.header_timeout`` of connecting (or of the previous response).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from typing import Any

import uvicorn
from slack_bolt import App
from starlette.routing import BaseRoute
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.ops.http import ACCEPT_BACKLOG, SHUTDOWN_GRACE_SECONDS, listening_socket
from bot.ops.metrics import Metrics
from bot.ops.readiness import Readiness
from bot.serving.holder import ServingEngine
from bot.slack.http_app import EVENTS_PATH, HEALTH_PATH, METRICS_PATH, READY_PATH, Limits, SlackHTTPApp
from bot.slack.readiness import slack_readiness
from bot.store.database import Store
from faq_core.engine import FAQEngine

log = logging.getLogger(__name__)

__all__ = ["EVENTS_PATH", "HEALTH_PATH", "METRICS_PATH", "READY_PATH", "BotHTTPServer", "Limits",
           "listening_socket"]


def _protocol_with_head_deadline(seconds: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing connections whose request head is late."""

    class HeadDeadlineProtocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None
        _waiting_for: Any = None  # the cycle that was current when the clock started

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._start_clock()

        def handle_events(self) -> None:
            super().handle_events()
            if self._deadline is not None and self.cycle is not self._waiting_for:
                self._stop_clock()  # a new request's head has arrived

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._start_clock()  # the next request on this connection gets its own deadline

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_clock()
            super().connection_lost(exc)

        def _start_clock(self) -> None:
            self._stop_clock()
            self._waiting_for = self.cycle
            self._deadline = self.loop.call_later(seconds, self._expire)

        def _stop_clock(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            idle = self.cycle is self._waiting_for and (self.cycle is None or self.cycle.response_complete)
            if idle and not self.transport.is_closing():
                log.info("closed a connection from %s: no complete request within %g s",
                         self.client[0] if self.client else "?", seconds)
                self.transport.close()

    return HeadDeadlineProtocol


class BotHTTPServer:
    """Serves one Bolt app on ``host:port`` (``port=0`` picks a free one, see
    :attr:`port`). The socket is bound in the constructor, so a port in use
    raises ``OSError`` at once; :meth:`start_background` then serves on a
    thread and :meth:`shutdown` stops, letting requests in progress finish."""

    def __init__(self, app: App, engine: FAQEngine | ServingEngine, host: str = "0.0.0.0", port: int = 3000, *,
                 signing_secret: str, store: Store | None = None, readiness: Readiness | None = None,
                 limits: Limits | None = None, metrics: Metrics | None = None,
                 routes: Sequence[BaseRoute] = ()) -> None:
        self.app = app
        self.engine = engine
        self.limits = limits or Limits()
        self.readiness = readiness or slack_readiness(engine, store, app.client,
                                                      token=app.oauth_flow is None)
        self.http = SlackHTTPApp(app, engine, self.readiness, signing_secret=signing_secret, limits=self.limits,
                                 metrics=metrics, routes=routes)
        self._socket = listening_socket(host, port)
        config = uvicorn.Config(
            self.http.asgi,
            http=_protocol_with_head_deadline(self.limits.header_timeout),
            ws="none",
            lifespan="off",
            loop="asyncio",
            timeout_keep_alive=int(max(self.limits.keep_alive, 1)),
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
            backlog=ACCEPT_BACKLOG,
            log_config=None,  # our logging set-up (secret filter, format) applies
            log_level=logging.WARNING,  # no start-up chatter; refusals are logged once, by bot.slack.http_app
            access_log=False,
            server_header=False,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port actually bound."""
        return int(self._socket.getsockname()[1])

    def start_background(self) -> threading.Thread:
        """Serve on a daemon thread (connections made before it runs wait in the backlog)."""
        self._thread = threading.Thread(target=self._serve, name="faq-bot-http", daemon=True)
        self._thread.start()
        return self._thread

    def _serve(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._socket]))

    def shutdown(self) -> None:
        """Stop accepting, finish the requests in progress, stop the thread."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=SHUTDOWN_GRACE_SECONDS + 5)

    def server_close(self) -> None:
        """Release the socket and the readiness checks' threads."""
        self._socket.close()
        self.readiness.close()
