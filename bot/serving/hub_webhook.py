"""``POST /hub/webhook``: the Hugging Face Hub says the FAQ dataset changed.

A Hub webhook (Settings > Webhooks, watching the dataset) POSTs JSON with
the secret it was given in ``X-Webhook-Secret``. The secret is compared in
constant time; a request without it or with another one gets 401 and one log
line, and nothing of its body is read. A verified event about the served
repo's content wakes the :class:`~bot.serving.reload.Reloader` (which then asks
the Hub itself: the payload only says "look now", it is never trusted to say
what to serve). Other events are acknowledged and ignored.

:func:`webhook_route` is a plain Starlette route, so any of the bot's HTTP
servers can mount it: Slack's HTTP mode does, and a metrics/health port can.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.serving.reload import Reloader

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/hub/webhook"
MAX_WEBHOOK_BYTES = 64 * 1024  # the Hub's payloads are a few KB


def secret_matches(expected: str, given: str | None) -> bool:
    """Whether ``given`` is the webhook secret (constant-time)."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def concerns(payload: Any, repo_id: str) -> bool:
    """Whether a Hub webhook payload is a change to ``repo_id``'s files or refs."""
    if not isinstance(payload, dict):
        return False
    repo, event = payload.get("repo"), payload.get("event")
    if not isinstance(repo, dict) or not isinstance(event, dict):
        return False
    scope = str(event.get("scope", ""))
    return repo.get("name") == repo_id and repo.get("type", "dataset") == "dataset" and scope.startswith("repo")


def webhook_route(reloader: Reloader, secret: str, *, path: str = WEBHOOK_PATH) -> Route:
    """The Starlette route serving the Hub's webhook for ``reloader``."""
    return webhook_route_for(lambda: [reloader], secret, path=path)


def webhook_route_for(reloaders: Callable[[], Iterable[Reloader]], secret: str, *, path: str = WEBHOOK_PATH) -> Route:
    """The Hub's webhook for every reloader ``reloaders()`` names at the time
    (the deployment's, and those of the indexes loaded for routes): each one
    following the repo the event is about is woken."""

    async def hub_webhook(request: Request) -> Response:
        client = request.client.host if request.client else "?"
        if not secret_matches(secret, request.headers.get("x-webhook-secret")):
            log.warning("refused a Hub webhook from %s: missing or wrong X-Webhook-Secret", client)
            return JSONResponse({"error": "invalid webhook secret"}, status_code=401)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_WEBHOOK_BYTES:
            return JSONResponse({"error": "payload too large"}, status_code=413)
        body = await request.body()
        try:
            payload = json.loads(body[:MAX_WEBHOOK_BYTES])
        except ValueError:
            log.info("a Hub webhook from %s was not JSON; ignored", client)
            return JSONResponse({"error": "the body is not JSON"}, status_code=400)
        woken = [reloader for reloader in reloaders() if concerns(payload, reloader.location)]
        if not woken:
            return JSONResponse({"ok": True, "reload": False})
        for reloader in woken:
            log.info("the Hub says %s changed: checking for a new revision now", reloader.location)
            reloader.trigger()
        return JSONResponse({"ok": True, "reload": True}, status_code=202)

    return Route(path, hub_webhook, methods=["POST"])
