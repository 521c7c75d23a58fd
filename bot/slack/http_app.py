"""HTTP mode's routes as an ASGI app (Starlette): ``POST /slack/events``; in
distribution mode ``GET /slack/install`` and ``GET /slack/oauth_redirect``
(Bolt's OAuth flow, :mod:`bot.slack.installations`); and the operations
endpoints of :mod:`bot.ops.http` (``GET /healthz``, ``/readyz`` and ``/metrics``).

A request to ``/slack/events`` passes a gate before Bolt sees it:

1. a ``Content-Length`` over the limit (1 MB) gets 413 before any body is
   read, and a streamed body is cut off with 413 at the limit;
2. the body must arrive within ``body_timeout`` (a ``Content-Length`` larger
   than what is sent) or the request gets 408;
3. the Slack signature is checked on the raw bytes: a missing, non-numeric
   or stale ``X-Slack-Request-Timestamp``, or a signature that does not match,
   gets 401 and one short log line. Nothing of an unverified body is parsed
   or logged;
4. only then is the body parsed (as Bolt parses it) and its shape checked
   (``bot.slack.validation``): what the bot cannot act on gets 400 and one line;
5. Bolt's own Starlette adapter turns it into a ``BoltRequest`` and back, and
   ``App.dispatch`` (which acknowledges, handing slow work to the worker pool)
   runs on a thread so the event loop keeps serving other connections.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.ops.http import HEALTH_PATH, METRICS_PATH, READY_PATH, OpsEndpoints
from bot.ops.metrics import Metrics
from bot.ops.readiness import Readiness
from bot.serving.holder import ServingEngine
from bot.slack.validation import MalformedPayload, problem, read_payload
from faq_core.engine import FAQEngine

log = logging.getLogger(__name__)

__all__ = ["EVENTS_PATH", "HEALTH_PATH", "METRICS_PATH", "READY_PATH", "Limits", "SlackHTTPApp"]

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1 << 20  # Slack's payloads are far smaller
# Slack signs with the time it sent the request; older (or later) ones are replays.
SIGNATURE_MAX_AGE_SECONDS = 5 * 60
_MAX_TIMESTAMP_DIGITS = 12


@dataclass(frozen=True)
class Limits:
    """How much and how long a client may send. Slack sends small requests at
    once, so anything slow is a broken or hostile client."""

    max_body_bytes: int = MAX_BODY_BYTES
    header_timeout: float = 5.0  # from connecting (or the previous response) to the end of the request head
    body_timeout: float = 5.0  # from the end of the head to the end of the body
    keep_alive: float = 5.0  # an idle connection between requests


class _Refusal(Exception):
    """A request turned away before Bolt: status, and a reason for the one log line."""

    def __init__(self, status: int, reason: str, error: str) -> None:
        super().__init__(reason)
        self.status, self.reason, self.error = status, reason, error


def unverified_reason(secret: bytes, body: bytes, timestamp: str | None, signature: str | None, *,
                      now: float | None = None) -> str | None:
    """Why ``body`` is not a request Slack signed (``None`` when it is).

    Slack's v0 scheme: ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``.
    Computed here over the raw bytes (slack_sdk's verifier decodes the body as
    UTF-8 first, which raises on bytes that are not)."""
    if not timestamp or not signature:
        return "no Slack signature"
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= _MAX_TIMESTAMP_DIGITS):
        return "X-Slack-Request-Timestamp is not a number"
    if abs((time.time() if now is None else now) - int(timestamp)) > SIGNATURE_MAX_AGE_SECONDS:
        return "X-Slack-Request-Timestamp is more than 5 minutes off"
    expected = "v0=" + hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        return "the signature does not match"
    return None


class SlackHTTPApp:
    """The ASGI app (see the module docstring); ``asgi`` is what the server runs."""

    def __init__(self, bolt: App, engine: FAQEngine | ServingEngine, readiness: Readiness, *, signing_secret: str,
                 limits: Limits | None = None, metrics: Metrics | None = None,
                 routes: Sequence[BaseRoute] = ()) -> None:
        """``routes`` are mounted beside Slack's (e.g. the Hub webhook, ``bot.serving.hub_webhook``)."""
        self.bolt = bolt
        self.engine = engine
        self.readiness = readiness
        self.limits = limits or Limits()
        self._secret = signing_secret.encode()
        self.ops = OpsEndpoints(engine, readiness, metrics)
        oauth: list[BaseRoute] = []
        if bolt.oauth_flow is not None:  # distribution mode: Bolt's install and redirect pages
            oauth = [Route(bolt.oauth_flow.install_path, self.install, methods=["GET"]),
                     Route(bolt.oauth_flow.redirect_uri_path, self.oauth_redirect, methods=["GET"])]
        self.asgi = Starlette(routes=[Route(EVENTS_PATH, self.events, methods=["POST"]), *oauth, *self.ops.routes(),
                                      *routes])

    async def install(self, request: Request) -> Response:
        """Distribution mode: start an install (a ``state`` stored and set as a cookie, then Slack's consent page)."""
        flow = self.bolt.oauth_flow
        assert flow is not None
        response = await run_in_threadpool(flow.handle_installation, to_bolt_request(request, b""))
        return to_starlette_response(response)

    async def oauth_redirect(self, request: Request) -> Response:
        """Distribution mode: Slack sends the installer back here with a code, which
        Bolt exchanges (``oauth.v2.access``) for the installation it stores."""
        flow = self.bolt.oauth_flow
        assert flow is not None
        response = await run_in_threadpool(flow.handle_callback, to_bolt_request(request, b""))
        return to_starlette_response(response)

    async def events(self, request: Request) -> Response:
        """Slack's events, commands and interactions."""
        try:
            body = await self._body(request)
            self._verify(request, body)
            bolt_request = self._bolt_request(request, body)
        except _Refusal as refusal:
            client = request.client.host if request.client else "?"
            log.info("refused a request from %s: %d, %s", client, refusal.status, refusal.reason)
            headers = {"connection": "close"} if refusal.status in (408, 413) else None
            return JSONResponse({"error": refusal.error}, status_code=refusal.status, headers=headers)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is left to read it
        response = await run_in_threadpool(self.bolt.dispatch, bolt_request)
        return to_starlette_response(response)

    async def _body(self, request: Request) -> bytes:
        limit = self.limits.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _Refusal(413, f"Content-Length is over the {limit}-byte limit", "request too large")
        body = bytearray()
        try:
            async with asyncio.timeout(self.limits.body_timeout):
                async for chunk in request.stream():
                    body += chunk
                    if len(body) > limit:
                        raise _Refusal(413, f"the body passed the {limit}-byte limit", "request too large")
        except TimeoutError:
            raise _Refusal(408, f"the body did not arrive within {self.limits.body_timeout:g} s",
                           "request timeout") from None
        return bytes(body)

    def _verify(self, request: Request, body: bytes) -> None:
        reason = unverified_reason(self._secret, body, request.headers.get("x-slack-request-timestamp"),
                                   request.headers.get("x-slack-signature"))
        if reason:
            raise _Refusal(401, reason, "invalid request")

    def _bolt_request(self, request: Request, body: bytes) -> BoltRequest:
        try:
            text = body.decode("utf-8")
            found = problem(read_payload(text, request.headers.get("content-type")))
        except UnicodeDecodeError:
            found = "the body is not UTF-8"
        except MalformedPayload as error:
            found = str(error)
        if found:
            raise _Refusal(400, found, "malformed request")
        try:
            return to_bolt_request(request, body)
        except Exception as error:  # a shape bot.slack.validation does not know yet: refuse it, don't crash
            raise _Refusal(400, f"Bolt cannot read the payload ({type(error).__name__})", "malformed request") \
                from None
