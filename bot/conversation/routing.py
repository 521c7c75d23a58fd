"""Which engine answers a question: its place's route, loaded on first use.

:class:`Routing` joins the routes table (:class:`~bot.store.routes.RouteTable`,
read through its short cache) and the engines
(:class:`~bot.serving.registry.EngineRegistry`). The Answerer asks it for
each question: a thread follows the channel it belongs to (``Asked.parent_id``),
a DM the workspace default; a place without a route gets the deployment's
``FAQ_INDEX``, or no engine (the asker is told no FAQ is set up there).

One FAQ stays as simple as it was: while the routes table is empty, every
place gets the deployment's engine (``FAQ_INDEX``, or the bundled sample
when it is not set). Once any route exists, a place without one gets
``FAQ_INDEX`` only if it is set: never the sample, never another team's FAQ.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversation.answering import Asked
from bot.serving.holder import ServingEngine
from bot.serving.refs import check_ref
from bot.serving.registry import EngineRegistry
from bot.settings import BotSettings
from bot.store.routes import Resolution, RouteTable
from faq_core.errors import FAQBotError

DM_KINDS = ("dm",)


@dataclass
class Routing:
    """The routes and the engines they name."""

    table: RouteTable
    engines: EngineRegistry
    deployment: ServingEngine | None = None  # the engine FAQ_INDEX names (or the sample: no FAQ_INDEX)

    def resolve(self, asked: Asked) -> Resolution:
        """Which index answers where ``asked`` was asked."""
        channel = asked.parent_id or asked.channel_id
        return self.table.resolve(asked.platform, asked.workspace, channel, dm=asked.channel_kind in DM_KINDS)

    def engine_for(self, asked: Asked) -> ServingEngine | None:
        """The engine answering there (loaded now if need be), or None: no FAQ
        is set up there. Raises :class:`~faq_core.errors.FAQBotError` when the
        routed index cannot be loaded."""
        found = self.resolve(asked)
        if found.index_ref is None:
            return self.deployment if not self.table.routes() else None
        if found.via == "deployment" and self.deployment is not None:
            return self.deployment
        return self.engines.get(found.index_ref)


def deployment_ref(settings: BotSettings) -> str | None:
    """``FAQ_INDEX`` (with ``@FAQ_INDEX_REVISION``) as a route names an index, or None when it is not set."""
    if not settings.faq_index:
        return None
    location = check_ref(settings.faq_index)
    return f"{location}@{settings.faq_index_revision}" if settings.faq_index_revision else location


def start_routing(settings: BotSettings, deployment: ServingEngine, table: RouteTable | None = None,
                  engines: EngineRegistry | None = None) -> Routing:
    """The routing a bot runs: the store's routes, engines over ``deployment``'s
    embedder under ``FAQ_MEMORY_BUDGET_MB`` (each following its revision), and
    ``deployment`` serving ``FAQ_INDEX`` (shared, never evicted)."""
    ref = deployment_ref(settings)
    if engines is None:
        engines = EngineRegistry.over(settings, deployment.embedder, store=table.store if table else None)
    if ref is not None:
        engines.keep(ref, deployment)
    assert table is not None
    table.fallback = ref
    return Routing(table, engines, deployment)


def serving_for(routing: Routing | None, asked: Asked, default: ServingEngine) -> ServingEngine:
    """The engine whose FAQs an answer's buttons in that place name (a vote,
    "Share", a "Did you mean…?" pick): the place's route, else ``default``."""
    if routing is None:
        return default
    try:
        return routing.engine_for(asked) or default
    except FAQBotError:
        return default
