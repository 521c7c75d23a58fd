"""Discord as one stand-in: the REST API and the Gateway together, and how discord.py is pointed at them.

:class:`DiscordStandIn` starts :class:`~tests.stubs.discord_api.DiscordAPIStub` and
:class:`~tests.stubs.discord_gateway.DiscordGatewayStub` on free loopback ports and
wires them (``GET /gateway/bot`` answers the Gateway's URL). Tests push events
with :meth:`DiscordStandIn.interaction` and :meth:`DiscordStandIn.message`,
which register the object on the REST side (an interaction's token, a message
replies may reference) before dispatching it on the Gateway.

Pointing the real discord.py 2.x client at it takes two supported seams, no
patching of discord.py's code:

1. :func:`use_api` sets ``discord.http.Route.BASE`` (the prefix of every REST
   URL discord.py builds, interaction callbacks and webhooks included) to the
   stand-in's ``/api/v10``: what a ``DISCORD_API_URL`` setting will hold.
2. The client's ``setup_hook`` (run after login, before the Gateway connects)
   awaits :func:`adopt_gateway`: it asks ``GET /gateway/bot`` through discord.py's
   own HTTP client and makes that URL ``DiscordWebSocket.DEFAULT_GATEWAY``, which
   the unsharded ``Client`` connects to (it does not ask ``/gateway/bot`` itself).

:class:`ClientThread` runs a client's event loop in a background thread, so a
synchronous test can drive the stand-in and wait on it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, Self, TypeVar

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from tests.stubs import discord_payloads as P
from tests.stubs.discord_api import DiscordAPIStub, Interaction
from tests.stubs.discord_gateway import DiscordGatewayStub
from tests.stubs.discord_payloads import BOT_TOKEN

T = TypeVar("T")


class DiscordStandIn:
    """Discord's REST API and Gateway on loopback ports; use as a context manager."""

    def __init__(self, bot_token: str = BOT_TOKEN, *, heartbeat_interval_ms: int = 41_250) -> None:
        self.api = DiscordAPIStub(bot_token)
        self.gateway = DiscordGatewayStub(bot_token, heartbeat_interval_ms=heartbeat_interval_ms)

    def __enter__(self) -> Self:
        self.gateway.__enter__()
        self.api.__enter__()
        self.api.gateway_url = self.gateway.url
        return self

    def __exit__(self, *exc: object) -> None:
        self.api.__exit__(*exc)
        self.gateway.__exit__(*exc)

    def interaction(self, payload: dict[str, Any]) -> Interaction:
        """Deliver INTERACTION_CREATE; its token is valid from now (3 s to answer, then 15 min of follow-ups)."""
        record = self.api.issue(payload)
        self.gateway.dispatch("INTERACTION_CREATE", payload)
        return record

    def message(self, payload: dict[str, Any]) -> int:
        """Deliver MESSAGE_CREATE (replies may reference it from now); returns its sequence number."""
        self.api.remember(payload)
        return self.gateway.dispatch("MESSAGE_CREATE", payload)

    def forum_post(self, title: str, content: str, *, missing_for: int = 0, to_all: bool = False,
                   forum_id: str = P.FORUM_CHANNEL_ID) -> tuple[dict[str, Any], dict[str, Any]]:
        """Someone opens a post in a forum channel, as Discord delivers it: THREAD_CREATE
        (the thread, no message), then the starter message (its id is the thread's) in
        MESSAGE_CREATE. The first ``missing_for`` fetches of the starter 404 (Unknown
        Message); ``to_all`` delivers to every connected replica. Returns (thread, starter)."""
        thread = P.forum_thread(title, parent_id=forum_id)
        starter = P.message(content, channel_id=thread["id"], message_id=thread["id"])
        self.api.add_forum_post(thread, starter, missing_for=missing_for)
        send = self.gateway.dispatch_all if to_all else self.gateway.dispatch
        send("THREAD_CREATE", thread)
        send("MESSAGE_CREATE", starter)
        return thread, starter


@contextmanager
def use_api(base_url: str) -> Iterator[None]:
    """Point discord.py's REST calls at ``base_url`` (``.../api/v10``) for the duration;
    restores ``Route.BASE`` and ``DEFAULT_GATEWAY`` afterwards."""
    saved_base, saved_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = base_url.rstrip("/")
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved_base, saved_gateway


async def adopt_gateway(client: discord.Client) -> str:
    """Ask ``GET /gateway/bot`` (through the client's own HTTP session) and connect there; returns the URL."""
    _shards, url, _limits = await client.http.get_bot_gateway()
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
    return url


class ClientThread:
    """Runs ``client.start(token)`` on an event loop in a daemon thread; use as a context manager."""

    def __init__(self, client: discord.Client, token: str = BOT_TOKEN) -> None:
        self.client = client
        self.token = token
        self.loop = asyncio.new_event_loop()
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._done = threading.Event()
        self._settled = threading.Event()
        self._thread = threading.Thread(target=self._run, name="discord-client", daemon=True)

    def _run(self) -> None:
        # a Runner on our loop: on the way out it cancels what the client left pending (view timers...)
        try:
            with asyncio.Runner(loop_factory=lambda: self.loop) as runner:
                runner.run(self._main())
        except BaseException as exc:  # reported to the test by wait_ready
            self.error = exc
        finally:
            self._done.set()
            self._settled.set()

    async def _main(self) -> None:
        async with self.client:  # initialises the client on this loop, closes it on the way out
            watcher = asyncio.create_task(self._watch_ready())
            try:
                await self.client.start(self.token)
            finally:
                watcher.cancel()

    async def _watch_ready(self) -> None:
        await self.client.wait_until_ready()
        self._ready.set()
        self._settled.set()

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Block until the client dispatched ``on_ready`` (or raise what stopped it)."""
        # settled: ready, or the client's task ended first (a login failure...)
        if not self._settled.wait(timeout) or not self._ready.is_set():
            raise AssertionError(f"the client did not become ready: {self.error!r}") from self.error

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run ``coroutine`` on the client's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Close the client and wait for its thread to end."""
        if not self._done.is_set() and not self.client.is_closed():
            asyncio.run_coroutine_threadsafe(self.client.close(), self.loop).result(timeout)
        self._done.wait(timeout)
        self._thread.join(timeout)
