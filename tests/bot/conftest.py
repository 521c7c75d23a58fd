"""Fixtures for the Slack bot: the Slack stand-ins, a store, the real engine,
and the bot itself running in HTTP mode on a free port.

Everything crosses real sockets: the app's ``WebClient`` talks to the Slack
Web API stand-in, and tests talk to the bot's HTTP server with signed requests.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.slack.app import build_app, drain, settle
from bot.slack.http_server import EVENTS_PATH, BotHTTPServer, Limits
from bot.store import Store
from faq_core.embedders import LocalEmbedder
from faq_core.engine import FAQEngine
from faq_core.index import load_index
from faq_core.settings import Settings
from tests.stubs.slack_api import APP_TOKEN, BOT_TOKEN, SlackAPIStub
from tests.stubs.slack_payloads import SIGNING_SECRET, SignedRequest
from tests.stubs.socket_mode import SocketModeStub


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """Undo what ``faq-bot`` commands run in-process set up (``setup_logging``:
    a root handler on this test's captured stderr, excepthooks), so a later
    test's log lines never go to a closed stream ("--- Logging error ---")."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    hooks = sys.excepthook, threading.excepthook
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    sys.excepthook, threading.excepthook = hooks


@pytest.fixture()
def slack_api() -> Iterator[SlackAPIStub]:
    """The Slack Web API stand-in (and response_url endpoint)."""
    with SlackAPIStub() as stub:
        yield stub


@pytest.fixture()
def db_url(tmp_path: Path) -> str:
    """An SQLite file of this test's own."""
    return f"sqlite:///{tmp_path / 'faq-bot.db'}"


POSTGRES_SKIP = ("TEST_DATABASE_URL is not set: PostgreSQL store tests skipped "
                 "(make test sets it when a server answers at 127.0.0.1:5432)")


@pytest.fixture()
def pg_url() -> Iterator[str]:
    """A schema of this test's own on the PostgreSQL server at ``TEST_DATABASE_URL``
    (dropped afterwards), so parallel runs never see each other's rows."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip(POSTGRES_SKIP)
    from sqlalchemy import create_engine, text

    from bot.store import normalise_url

    schema = f"faqbot_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(base))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on SQLite and, when ``TEST_DATABASE_URL`` is set, on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'faq-bot.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture()
def any_store(any_db_url: str) -> Iterator[Store]:
    """A store on SQLite and, when ``TEST_DATABASE_URL`` is set, on PostgreSQL."""
    store = Store(any_db_url)
    yield store
    store.close()


@pytest.fixture()
def store(db_url: str) -> Iterator[Store]:
    """The bot's store on that file."""
    store = Store(db_url)
    yield store
    store.close()


@pytest.fixture(scope="session")
def engine(sample_index_dir: Path, local_embedder: LocalEmbedder) -> FAQEngine:
    """The real engine: the Medicare sample index and the local model, loaded
    once (the engine is thread-safe and no test changes it)."""
    return FAQEngine(load_index(sample_index_dir), local_embedder)


@pytest.fixture()
def settings(slack_api: SlackAPIStub, db_url: str) -> Settings:
    """Settings pointing the bot at the stand-in."""
    return Settings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET,
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


def start_bot(settings: Settings, engine: FAQEngine, store: Store, *, limits: Limits | None = None,
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
def bot(settings: Settings, engine: FAQEngine, store: Store) -> Iterator[RunningBot]:
    """The bot in HTTP mode, talking to the Slack stand-in."""
    running = start_bot(settings, engine, store)
    yield running
    stop_bot(running)


@pytest.fixture()
def settings_factory(settings: Settings):  # type: ignore[no-untyped-def]
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


def connect_socket_bot(settings: Settings, engine: FAQEngine, store: Store, slack_api: SlackAPIStub,
                       socket_server: SocketModeStub) -> SocketBot:
    """Build the app and connect it over Socket Mode (no signing secret: nothing is served over HTTP)."""
    from bot.slack.serve import CheckedSocketModeHandler

    app = build_app(replace(settings, slack_signing_secret=None, slack_app_token=APP_TOKEN), engine, store)
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
