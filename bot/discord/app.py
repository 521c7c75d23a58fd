"""One Discord replica assembled: the client, the answerer and the intake workers.

:class:`DiscordBot` wires the platform-neutral core (answerer, store, durable
intake and its workers) to the discord.py client; :meth:`DiscordBot.run`
logs in (a rejected token raises ``discord.LoginFailure``), starts the
workers (finishing what an earlier run left in the intake), and serves the
Gateway until the client is closed. With a :class:`~bot.ops.metrics.Metrics`,
its questions (platform ``discord``), engine stages, intake outcomes and
depth, votes and REST errors are counted there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.conversation.answering import Answerer, AnswerObserver
from bot.conversation.replies import HandOffSettings
from bot.conversation.routing import Routing
from bot.discord.client import FAQClient
from bot.discord.handlers import PLATFORM, Handlers, Services, StarterNotReady
from bot.discord.rest import DiscordREST, is_transient
from bot.discord.settings import DiscordSettings
from bot.discord.suggest import SUGGESTIONS
from bot.features.recording import recorder
from bot.features.upkeep import maintain
from bot.ops.metrics import Metrics
from bot.serving.holder import ServingEngine, as_serving
from bot.store.database import Store
from bot.store.intake import Intake, Work
from bot.store.workers import POLL_SECONDS, Workers
from faq_core.engine import FAQEngine

log = logging.getLogger(__name__)


def worth_retrying(error: BaseException) -> bool:
    """Whether failed work may succeed later: Discord or the database was
    unavailable, or a forum post's starter message not there yet (not a
    refusal that no retry changes)."""
    return is_transient(error) or isinstance(error, SQLAlchemyError | StarterNotReady)


class DiscordBot:
    """A Discord client whose intake is answered by this process's workers."""

    def __init__(self, settings: DiscordSettings, engine: FAQEngine | ServingEngine, store: Store, *,
                 guild_ids: tuple[int, ...] = (), workers: int | None = None, poll_seconds: float | None = None,
                 observers: tuple[AnswerObserver, ...] = (), metrics: Metrics | None = None,
                 routing: Routing | None = None, **client_options: Any) -> None:
        self.settings = settings
        # one holder for the client, the answerer and the workers: a reload (bot.serving.reloading) reaches all three
        self.engine = as_serving(engine)
        self.engine.attach(SUGGESTIONS)  # autocomplete is rebuilt beside each new revision, swapped with it
        self.store = store
        self.intake = Intake(store, lease_seconds=settings.intake_lease_seconds)
        self.threads = workers or settings.intake_in_memory  # rows in memory at once: also the largest batch
        self.answerer = Answerer(self.engine, top_k=settings.faq_top_k, max_batch=self.threads,
                                 observers=[recorder(store, settings, self.engine), *observers],
                                 handoff=HandOffSettings(target=settings.discord_handoff_channel,
                                                         text=settings.faq_handoff_text),
                                 routing=routing)
        self.routing = routing
        self.metrics = metrics
        self.poll_seconds = poll_seconds
        self.workers: Workers | None = None
        self.handed_back = 0  # rows still in flight at the shutdown deadline, handed back to the intake
        self.client = FAQClient(intake=self.intake, serving=self.engine, wake=self._wake, guild_ids=guild_ids,
                                forum_ids=settings.discord_forum_channel_ids, routing=routing,
                                retention_days=settings.feedback_retention_days, **client_options)
        self._rest_errors: list[Callable[[str], None]] = []
        self._unplug: Callable[[], None] = lambda: None
        if metrics is not None:
            self._hook(metrics)

    def _hook(self, metrics: Metrics) -> None:
        """Plug ``metrics`` into the answerer, the engine, the intake and the REST calls
        (the engine's observer is unplugged by :meth:`drain`: the engine may outlive the bot)."""
        self._unplug = metrics.plug(self.answerer, self.engine, self.intake)
        self._rest_errors.append(lambda kind: metrics.api_error(PLATFORM, kind))

    def _observe(self, work: Work, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.worked(work.kind, work.received_at, outcome)

    def _wake(self) -> None:
        if self.workers is not None:
            self.workers.notify()

    def start_workers(self) -> Workers:
        """Start answering the intake (call on the client's loop, after login)."""
        rest = DiscordREST(self.client, asyncio.get_running_loop(), self._rest_errors)
        handlers = Handlers(Services(engine=self.engine, answerer=self.answerer, store=self.store, rest=rest,
                                     handoff_channel=self.settings.discord_handoff_channel, metrics=self.metrics))
        self.workers = Workers(self.intake, handlers.run, threads=self.threads, retryable=worth_retrying,
                               observe=self._observe,
                               maintenance=lambda: maintain(self.store, self.intake,
                                                            self.settings.feedback_retention_days),
                               poll_seconds=POLL_SECONDS if self.poll_seconds is None else self.poll_seconds)
        self.workers.start()
        return self.workers

    async def run(self, token: str) -> None:
        """Log in, start the workers, serve the Gateway until closed; then let
        the replies being worked on finish (what was not taken stays in the
        store for the next start or another replica)."""
        async with self.client:
            await self.client.login(token)
            self.start_workers()
            try:
                await self.client.connect()
            finally:
                await asyncio.to_thread(self.drain)

    async def stop(self) -> None:
        """Stop cleanly: the workers finish the replies in hand (the client
        still connected, so they can be sent), then the client closes."""
        await asyncio.to_thread(self.drain)
        await self.client.close()

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until the workers answered everything they can take (tests, benchmarks)."""
        if self.workers is not None and not self.workers.wait_idle(timeout):
            raise TimeoutError(f"the workers were still busy after {timeout:.0f} s")

    def drain(self) -> None:
        """Stop the workers after the work in hand, which gets
        ``SHUTDOWN_DEADLINE_SECONDS`` (what is still in flight then is handed
        back to the intake, counted in :attr:`handed_back`); unplug the
        metrics from the engine."""
        if self.workers is not None:
            self.handed_back += self.workers.stop(self.settings.shutdown_deadline_seconds)
        self._unplug()
