"""Starting the reload of FAQ revisions beside a running bot, for any platform.

:func:`start_reloading` wraps the engine in the shared
:class:`~bot.serving.holder.ServingEngine`, registers this replica in the store,
checks once at once (so a pin set by ``faq-bot rollback`` is obeyed before
the first question), starts the periodic check, and returns the Hub webhook
route for whichever HTTP server the platform runs (``HUB_WEBHOOK_SECRET``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from starlette.routing import BaseRoute

from bot.serving.holder import ServingEngine
from bot.serving.hub_webhook import webhook_route
from bot.serving.reload import Reloader
from bot.serving.replicas import ReplicaRegistry
from bot.settings import BotSettings
from bot.store.database import Store

log = logging.getLogger(__name__)


@dataclass
class Reloading:
    """A running reloader, its place in the store, and the routes to mount."""

    reloader: Reloader
    registry: ReplicaRegistry
    routes: list[BaseRoute] = field(default_factory=list)

    def stop(self) -> None:
        """Stop checking and take this replica out of the store's table."""
        self.reloader.stop()
        try:
            self.registry.forget()
        except Exception as error:  # stopping goes on without the store
            log.warning("could not remove this replica from the store: %s", error)


def start_reloading(serving: ServingEngine, settings: BotSettings, store: Store) -> Reloading | None:
    """Keep ``serving`` on the revision it should serve (see :mod:`bot.serving.reload`);
    None when there is nothing to reload (no ``FAQ_INDEX``: the bundled sample)."""
    if not settings.faq_index:
        log.info("FAQ_INDEX is not set: the bundled sample is served and never reloaded")
        return None
    registry = ReplicaRegistry(store)
    reloader = Reloader(serving, settings, registry=registry)
    reloader.check_now()
    reloader.start()
    routes: list[BaseRoute] = []
    if settings.hub_webhook_secret:
        routes.append(webhook_route(reloader, settings.hub_webhook_secret))
    return Reloading(reloader, registry, routes)
