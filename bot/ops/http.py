"""The operations endpoints, for every platform and transport.

- ``GET /healthz``: liveness. The process serves HTTP; which index it serves
  (its shown name, FAQ count and model: never a local path or a secret).
- ``GET /readyz``: readiness (:mod:`bot.ops.readiness`). 200 when every check
  passes, else 503 with each check's reason.
- ``GET /metrics``: Prometheus text (:mod:`bot.ops.metrics`).

HTTP mode mounts these routes beside ``/slack/events`` on its own server.
Slack's Socket Mode and the Discord bot (transports without an HTTP server of
their own) run :class:`OpsServer` on ``METRICS_PORT`` through
:func:`start_ops_server`: uvicorn on a thread, serving these three routes and
any the caller adds (the Hub webhook, ``POST /hub/webhook``).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.ops.metrics import CONTENT_TYPE, Metrics
from bot.ops.readiness import Readiness
from bot.serving.holder import ServingEngine
from faq_core.engine import FAQEngine

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
ACCEPT_BACKLOG = 1024  # Slack delivers bursts: a short backlog resets connections
SHUTDOWN_GRACE_SECONDS = 5


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` and listening. Raises ``OSError`` (e.g.
    "Address already in use") here, where the caller can report it in one line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(ACCEPT_BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class OpsEndpoints:
    """The handlers of ``/healthz``, ``/readyz`` and ``/metrics`` (``metrics``
    may be None: then ``/metrics`` is not served)."""

    def __init__(self, engine: FAQEngine | ServingEngine, readiness: Readiness,
                 metrics: Metrics | None = None) -> None:
        self.engine = engine
        self.readiness = readiness
        self.metrics = metrics

    def routes(self) -> list[Route]:
        routes = [Route(HEALTH_PATH, self.health, methods=["GET"]), Route(READY_PATH, self.ready, methods=["GET"])]
        if self.metrics is not None:
            routes.append(Route(METRICS_PATH, self.scrape, methods=["GET"]))
        return routes

    async def health(self, request: Request) -> Response:
        """Liveness: the process serves HTTP; which index it serves (no local paths)."""
        info = self.engine.info
        return JSONResponse({"ok": True, "index": info.display_name, "faqs": info.faq_count,
                             "model": info.model_id})

    async def ready(self, request: Request) -> Response:
        """Readiness: 200 when every check passes, else 503 with the reasons."""
        report = await run_in_threadpool(self.readiness.report)
        return JSONResponse(report.as_json(), status_code=200 if report.ready else 503)

    async def scrape(self, request: Request) -> Response:
        """The Prometheus exposition (the intake depth is read from the store, so off the event loop)."""
        assert self.metrics is not None
        body = await run_in_threadpool(self.metrics.render)
        return Response(body, media_type=CONTENT_TYPE)


class OpsServer:
    """``/healthz``, ``/readyz`` and ``/metrics`` (and ``routes``) on
    ``host:port`` (``port=0`` picks a free one, see :attr:`port`), served on a
    daemon thread. The socket is bound in the constructor, so a port in use
    raises ``OSError`` at once."""

    def __init__(self, endpoints: OpsEndpoints, host: str = "0.0.0.0", port: int = 9100, *,
                 routes: Sequence[BaseRoute] = ()) -> None:
        self.endpoints = endpoints
        self._socket = listening_socket(host, port)
        config = uvicorn.Config(Starlette(routes=[*endpoints.routes(), *routes]), ws="none", lifespan="off",
                                loop="asyncio", log_config=None, log_level=logging.WARNING, access_log=False,
                                server_header=False, timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS)
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port actually bound."""
        return int(self._socket.getsockname()[1])

    def start_background(self) -> None:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._server.serve(sockets=[self._socket])),
                                        name="faq-bot-ops-http", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving, release the socket and stop the readiness checks."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=SHUTDOWN_GRACE_SECONDS + 5)
        self._socket.close()
        self.endpoints.readiness.close()


def start_ops_server(engine: FAQEngine | ServingEngine, readiness: Readiness, metrics: Metrics | None, *,
                     host: str, port: int, routes: Sequence[BaseRoute] = ()) -> OpsServer:
    """Serve the operations endpoints (and ``routes``) beside a connection
    that has no HTTP server of its own (Slack's Socket Mode, Discord's
    Gateway), and log where. Raises ``OSError`` when ``host:port`` cannot be
    bound; ``readiness`` is closed then, as it is by :meth:`OpsServer.close`
    otherwise (the caller stops both with that one call)."""
    try:
        ops = OpsServer(OpsEndpoints(engine, readiness, metrics), host, port, routes=routes)
    except OSError:
        readiness.close()
        raise
    ops.start_background()
    paths = [HEALTH_PATH, READY_PATH, *([METRICS_PATH] if metrics is not None else []),
             *(getattr(route, "path", "?") for route in routes)]
    log.info("operations endpoints on http://%s:%d (%s)", host, ops.port, ", ".join(paths))
    return ops
