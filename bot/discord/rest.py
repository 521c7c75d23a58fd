"""Discord's REST API for the worker threads, through discord.py's own HTTP client.

The workers that answer from the intake are threads; discord.py's client lives
on its event loop. :class:`DiscordREST` runs each request there (so discord.py's
rate-limit handling applies: buckets, ``X-RateLimit-*`` headers, 429s with
``retry_after``) and waits for the answer. The routes take the plain JSON
bodies :mod:`bot.discord.render` builds. A call that fails (after
discord.py's own retries) is told to ``error_observers`` by its kind
(:func:`error_kind`): metrics.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import discord
from discord.http import Route

from faq_core.observers import tell_each

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 60.0

# Discord's error codes that mean "this will never work": retrying is pointless
UNKNOWN_INTERACTION = 10062
UNKNOWN_WEBHOOK = 10015
UNKNOWN_MESSAGE = 10008


class DiscordREST:
    """Blocking calls to Discord's REST API for threads other than the client's loop."""

    def __init__(self, client: discord.Client, loop: asyncio.AbstractEventLoop,
                 error_observers: list[Callable[[str], None]] | None = None) -> None:
        self.client = client
        self.loop = loop
        self.error_observers = error_observers if error_observers is not None else []

    def _call(self, route: Route, body: dict[str, Any] | None = None) -> Any:
        coroutine = self.client.http.request(route, json=body) if body is not None else self.client.http.request(route)
        try:
            return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(TIMEOUT_SECONDS)
        except Exception as error:
            tell_each(self.error_observers, error_kind(error), log=log, what="a Discord REST error observer")
            raise

    def send(self, channel_id: str, body: dict[str, Any], *, reply_to: str | None = None,
             nonce: str | None = None) -> dict[str, Any]:
        """Post a message in a channel; ``nonce`` (enforced) makes a repeat of
        the same post return the first message instead of a second one."""
        body = dict(body)
        if reply_to:
            body["message_reference"] = {"message_id": reply_to, "channel_id": channel_id,
                                         "fail_if_not_exists": False}
        if nonce:
            body |= {"nonce": nonce, "enforce_nonce": True}
        result: dict[str, Any] = self._call(Route("POST", "/channels/{channel_id}/messages",
                                                  channel_id=channel_id), body)
        return result

    def get_message(self, channel_id: str, message_id: str) -> dict[str, Any]:
        """One message of a channel (a forum post's starter: its id is the thread's)."""
        result: dict[str, Any] = self._call(Route("GET", "/channels/{channel_id}/messages/{message_id}",
                                                  channel_id=channel_id, message_id=message_id))
        return result

    def edit_original(self, application_id: str, token: str, body: dict[str, Any]) -> None:
        """Edit an interaction's response: the deferred "thinking…" message, or
        for a button, the message the button is on."""
        self._call(Route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
                         webhook_id=application_id, webhook_token=token), body)

    def delete_original(self, application_id: str, token: str) -> None:
        """Delete an interaction's response (an ephemeral answer once shared)."""
        self._call(Route("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
                         webhook_id=application_id, webhook_token=token))

    def follow_up(self, application_id: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
        """Send a follow-up message of an interaction."""
        result: dict[str, Any] = self._call(Route("POST", "/webhooks/{webhook_id}/{webhook_token}",
                                                  webhook_id=application_id, webhook_token=token), body)
        return result


def error_kind(error: BaseException) -> str:
    """A failed call's kind for metrics: Discord's JSON error code (``10062``:
    Unknown Interaction, ...), else ``http_<status>``, else the exception's type."""
    if isinstance(error, discord.HTTPException):
        return str(error.code) if error.code else f"http_{error.status}"
    return type(error).__name__


def is_gone(error: BaseException) -> bool:
    """Whether Discord refused because the interaction, webhook or message no
    longer exists (an expired interaction token): no retry can succeed."""
    return isinstance(error, discord.NotFound) and error.code in (UNKNOWN_INTERACTION, UNKNOWN_WEBHOOK,
                                                                  UNKNOWN_MESSAGE)


def is_transient(error: BaseException) -> bool:
    """Whether a failed call may succeed later: Discord's 5xx, a timeout, a lost connection."""
    if isinstance(error, discord.DiscordServerError):
        return True
    return isinstance(error, (TimeoutError, OSError, discord.GatewayNotFound))
