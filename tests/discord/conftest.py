"""Fixtures for the Discord bot: the Discord stand-in, a store, the real
engine, and the bot itself (:class:`~bot.discord.app.DiscordBot`, the real
discord.py client) running on its own event loop against the stand-in."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from bot.discord.app import DiscordBot
from bot.discord.settings import DiscordSettings
from bot.store.database import Store
from faq_core.engine import FAQEngine
from tests.stubs import discord_payloads as P
from tests.stubs.discord_standin import DiscordStandIn, use_api

MESSAGES = r"/channels/\d+/messages"
CALLBACK = r"/interactions/\d+/[^/]+/callback"
ORIGINAL = rf"/webhooks/{P.APPLICATION_ID}/[^/]+/messages/@original"
FOLLOWUP = rf"/webhooks/{P.APPLICATION_ID}/[^/]+"


class RunningBot:
    """A :class:`DiscordBot` served on an event loop in a daemon thread."""

    def __init__(self, bot: DiscordBot, token: str = P.BOT_TOKEN) -> None:
        self.bot = bot
        self.error: BaseException | None = None
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(token,), name="discord-bot", daemon=True)
        self._thread.start()

    def _run(self, token: str) -> None:
        try:
            with asyncio.Runner(loop_factory=lambda: self.loop) as runner:
                runner.run(self._main(token))
        except BaseException as exc:
            self.error = exc
        finally:
            self._done.set()
            self._ready.set()

    async def _main(self, token: str) -> None:
        async def watch() -> None:
            await self.bot.client.wait_until_ready()
            self._ready.set()

        watcher = asyncio.create_task(watch())
        try:
            await self.bot.run(token)
        finally:
            watcher.cancel()

    def wait_ready(self, timeout: float = 30.0) -> RunningBot:
        if not self._ready.wait(timeout) or self.error is not None or self._done.is_set():
            raise AssertionError(f"the Discord bot did not become ready: {self.error!r}") from self.error
        return self

    def stop(self, timeout: float = 30.0) -> None:
        if not self._done.is_set() and not self.bot.client.is_closed():
            asyncio.run_coroutine_threadsafe(self.bot.stop(), self.loop).result(timeout)
        self._done.wait(timeout)
        self._thread.join(timeout)


@pytest.fixture()
def standin() -> Iterator[DiscordStandIn]:
    """Discord's REST API and Gateway on loopback ports, discord.py pointed at them."""
    with DiscordStandIn() as stub, use_api(stub.api.base_url):
        yield stub


@pytest.fixture()
def settings(standin: DiscordStandIn, db_url: str) -> DiscordSettings:
    return DiscordSettings(discord_bot_token=P.BOT_TOKEN, discord_api_url=standin.api.base_url, database_url=db_url)


def start_bot(settings: DiscordSettings, engine: FAQEngine, store: Store, **options: Any) -> RunningBot:
    """A ready Discord bot (``options`` go to :class:`DiscordBot`)."""
    options.setdefault("guild_ready_timeout", 0.05)
    return RunningBot(DiscordBot(settings, engine, store, **options)).wait_ready()


def serving(settings: DiscordSettings, engine: FAQEngine, store: Store) -> Iterator[RunningBot]:
    """A ready Discord bot for a fixture to yield, stopped afterwards (and checked to have lived)."""
    running = start_bot(settings, engine, store)
    yield running
    running.stop()
    assert running.error is None, f"the bot died: {running.error!r}"


@pytest.fixture()
def bot(settings: DiscordSettings, engine: FAQEngine, store: Store) -> Iterator[RunningBot]:
    yield from serving(settings, engine, store)
