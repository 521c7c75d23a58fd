"""Discord's readiness check, beside the core's (:mod:`bot.ops.readiness`):
the bot is logged in and its Gateway session delivers events."""

from __future__ import annotations

from typing import Any

from bot.ops.readiness import EMBEDDING_CHECK_EVERY_SECONDS, Readiness, standard_checks
from bot.serving.holder import ServingEngine
from bot.store.database import Store
from faq_core.engine import FAQEngine


class DiscordGatewayCheck:
    """The Discord bot is logged in and its Gateway session delivers events
    (``bot.discord.client.FAQClient``: not closed, ``user`` known, the
    websocket ``open`` and the session READY or RESUMED since the last drop).
    Without it no message or interaction reaches this replica; while
    discord.py reconnects or resumes after a drop, it is not ready (a new
    websocket is open before its RESUME is answered, hence the session flag)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __call__(self) -> str | None:
        if self.client.is_closed() or self.client.user is None:
            return "the Discord bot is not logged in"
        ws = self.client.ws
        if ws is None or not ws.open or not self.client.session_live:
            return "the Gateway connection to Discord is down"
        return None


def discord_readiness(engine: FAQEngine | ServingEngine, store: Store | None, client: Any, *,
                      embedding_every: float = EMBEDDING_CHECK_EVERY_SECONDS) -> Readiness:
    """The core's checks and ``discord``: what ``/readyz`` checks for Discord."""
    readiness = standard_checks(engine, store, embedding_every=embedding_every)
    readiness.add("discord", DiscordGatewayCheck(client))
    return readiness
