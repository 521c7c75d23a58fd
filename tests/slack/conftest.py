"""Fixtures for the Slack bot: the Slack stand-ins, its settings, and the bot
itself running in HTTP mode on a free port (the store and the real engine
come from ``tests/conftest.py``).

Everything crosses real sockets: the app's ``WebClient`` talks to the Slack
Web API stand-in, and tests talk to the bot's HTTP server with signed requests.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
import requests

from bot.slack.app import build_app, drain, settle
from bot.slack.http_server import EVENTS_PATH, BotHTTPServer, Limits
from bot.slack.settings import SlackSettings
from bot.store.database import Store
from faq_core.engine import FAQEngine
from tests.stubs.slack_api import APP_TOKEN, BOT_TOKEN, SlackAPIStub
from tests.stubs.slack_payloads import SIGNING_SECRET, SignedRequest
from tests.stubs.socket_mode import SocketModeStub


@pytest.fixture()
def slack_api() -> Iterator[SlackAPIStub]:
    """The Slack Web API stand-in (and response_url endpoint)."""
    with SlackAPIStub() as stub:
        yield stub


@pytest.fixture()
def settings(slack_api: SlackAPIStub, db_url: str) -> SlackSettings:
    """SlackSettings pointing the bot at the stand-in."""
    return SlackSettings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET,
                    slack_api_url=slack_api.base_url, database_url=db_url)


@dataclass
class RunningBot:
    """A bot serving HTTP mode on a free port."""

    server: BotHTTPServer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def send(self, request: SignedRequest, path: str = EVENTS_PATH) -> requests.Response:
        """POST a (signed) request as Slack would."""
        return requests.post(self.url + path, data=request.body, headers=request.headers, timeout=10)

    def settle(self, timeout: float = 60.0) -> None:
        """Block until the bot has answered everything it accepted (a generous deadline)."""
        settle(self.server.app, timeout)


def start_bot(settings: SlackSettings, engine: FAQEngine, store: Store, *, limits: Limits | None = None,
              **options: Any) -> RunningBot:
    """Build the app (``options`` go to ``build_app``) and serve it on 127.0.0.1:<free port>
    (``limits``: the server's, e.g. short timeouts)."""
    app = build_app(settings, engine, store, **options)
    server = BotHTTPServer(app, engine, "127.0.0.1", 0, signing_secret=settings.slack_signing_secret or "",
                           store=store, limits=limits, metrics=options.get("metrics"))
    server.start_background()
    return RunningBot(server)


def stop_bot(bot: RunningBot) -> None:
    bot.server.shutdown()
    bot.server.server_close()
    drain(bot.server.app)


@pytest.fixture()
def bot(settings: SlackSettings, engine: FAQEngine, store: Store) -> Iterator[RunningBot]:
    """The bot in HTTP mode, talking to the Slack stand-in."""
    running = start_bot(settings, engine, store)
    yield running
    stop_bot(running)


@pytest.fixture()
def settings_factory(settings: SlackSettings):  # type: ignore[no-untyped-def]
    """Variations of the test settings."""
    return lambda **changes: replace(settings, **changes)


@dataclass
class SocketBot:
    """A bot connected to the Socket Mode stand-in."""

    handler: Any  # slack_bolt's SocketModeHandler (CheckedSocketModeHandler, as ``python -m bot`` runs it)
    server: SocketModeStub
    api: SlackAPIStub

    def settle(self) -> None:
        settle(self.handler.app)


@pytest.fixture()
def socket_server(slack_api: SlackAPIStub) -> Iterator[SocketModeStub]:
    """The Socket Mode stand-in, announced by the Web API stand-in's ``apps.connections.open``."""
    with SocketModeStub() as server:
        slack_api.socket_url = server.url
        yield server


def connect_socket_bot(settings: SlackSettings, engine: FAQEngine, store: Store, slack_api: SlackAPIStub,
                       socket_server: SocketModeStub, **options: Any) -> SocketBot:
    """Build the app (``options`` go to ``build_app``) and connect it over Socket Mode (no signing
    secret: nothing is served over HTTP)."""
    from bot.slack.serve import CheckedSocketModeHandler

    app = build_app(replace(settings, slack_signing_secret=None, slack_app_token=APP_TOKEN), engine, store,
                    **options)
    handler = CheckedSocketModeHandler(app, app_token=APP_TOKEN)  # what ``python -m bot`` runs
    handler.connect()
    socket_server.wait_connected()
    # Until the client has its session, slack_sdk's connection monitor may open another one, and
    # closing then can hang joining the first session's thread (seen on a loaded machine).
    deadline = time.monotonic() + 20
    while not handler.client.is_connected() and time.monotonic() < deadline:
        time.sleep(0.05)
    return SocketBot(handler, socket_server, slack_api)


def close_socket_bot(bot: SocketBot) -> None:
    from bot.slack.serve import close_socket_mode

    close_socket_mode(bot.handler)
    drain(bot.handler.app)
