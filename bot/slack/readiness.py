"""Slack's readiness checks, beside the core's (:mod:`bot.ops.readiness`):
the Web API accepts the bot token, and in Socket Mode the connection is open."""

from __future__ import annotations

import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.ops.readiness import EMBEDDING_CHECK_EVERY_SECONDS, Readiness, standard_checks
from bot.serving.holder import ServingEngine
from bot.store.database import Store
from faq_core.engine import FAQEngine

SLACK_CHECK_EVERY_SECONDS = 30.0


class SlackCheck:
    """Slack's Web API accepts the bot token (``auth.test``); with
    ``token=False`` (distribution mode: no token of its own), that it answers
    (``api.test``). Probes come every few seconds, so a success is trusted
    for ``every`` seconds."""

    def __init__(self, client: WebClient, *, every: float = SLACK_CHECK_EVERY_SECONDS, token: bool = True) -> None:
        self.client = client
        self.every = every
        self.token = token
        self._ok_until = 0.0

    def __call__(self) -> str | None:
        if time.monotonic() < self._ok_until:
            return None
        try:
            response = self.client.auth_test() if self.token else self.client.api_test()
        except SlackApiError as error:
            return f"Slack refused the bot token ({error.response.get('error')})"
        except Exception as error:
            return f"Slack is unreachable ({type(error).__name__})"
        if not response.get("ok"):
            return "Slack refused the bot token"
        self._ok_until = time.monotonic() + self.every
        return None


class SocketModeCheck:
    """The Socket Mode connection to Slack is open (``is_connected`` of
    slack_sdk's client: the WebSocket is up and not closed). Without it no
    event reaches this replica, however healthy the rest is."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __call__(self) -> str | None:
        return None if self.client.is_connected() else "the Socket Mode connection to Slack is down"


def slack_readiness(engine: FAQEngine | ServingEngine, store: Store | None, client: WebClient, *,
                    embedding_every: float = EMBEDDING_CHECK_EVERY_SECONDS, token: bool = True) -> Readiness:
    """The core's checks and ``slack`` (Socket Mode adds ``socket_mode``): what ``/readyz`` checks for Slack."""
    readiness = standard_checks(engine, store, embedding_every=embedding_every)
    readiness.add("slack", SlackCheck(client, token=token))
    return readiness
