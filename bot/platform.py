"""How the bot runs on a chat platform: :class:`Platform`, what a platform
provides, and :func:`run_platform`, the one start-up skeleton.

A platform (``bot.slack``, ``bot.discord``) is one package implementing
:class:`Platform`, and the core does the rest of the running: it opens the
store, loads and warms the engine, follows new FAQ revisions, serves the
operations endpoints, and stops on SIGINT/SIGTERM. Inside its app a platform
records each question in the durable intake before acknowledging it, answers
through the shared :class:`~bot.conversation.answering.Answerer`, renders the
neutral :class:`~bot.conversation.replies.ReplyContent` in its own markup,
and hands a question to a person through :func:`bot.features.handoff.hand_off`.

:func:`run_platform`, in order, each failure one line ``faq-bot: ...`` with
the exit status of its kind (:func:`faq_core.errors.exit_status`: 2 for a
setting to fix, 1 when a service failed): the platform's settings (read and
checked by the function it is given), its credentials
(:meth:`Platform.connect`), the store (its schema upgraded), the index and the
model (one warm-up question, so the first reply is as fast as the others),
the reloading of new revisions, the platform's app (:meth:`Platform.start`),
the operations endpoints on ``METRICS_PORT`` (unless the platform serves them
on its own HTTP server), then :meth:`Platform.serve` until SIGINT or SIGTERM.
Then no new work is taken, the work in flight gets ``SHUTDOWN_DEADLINE_SECONDS``
to finish, what is still running is handed back to the intake (another
replica or the next start takes it at once), and the process exits 0.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Protocol

from bot import messages
from bot.settings import BotSettings
from faq_core.errors import FAQBotError, ServiceError, exit_status

if TYPE_CHECKING:  # imported by run_platform once the settings are checked, so a bad one is said at once
    from starlette.routing import BaseRoute

    from bot.conversation.routing import Routing
    from bot.ops.http import OpsServer
    from bot.ops.metrics import Metrics
    from bot.ops.readiness import Check, Readiness
    from bot.serving.holder import ServingEngine
    from bot.serving.reloading import Reloading
    from bot.store.database import Store
    from faq_core.engine import FAQEngine

log = logging.getLogger("bot")


@dataclass(frozen=True)
class Core:
    """What the core hands a platform to build its app over."""

    serving: ServingEngine  # the engine, swapped in place when a new FAQ revision is loaded
    store: Store
    metrics: Metrics
    readiness: Readiness  # the core's checks (the platform's own are added after them)
    routes: Sequence[BaseRoute]  # more HTTP routes to serve beside the operations endpoints (the Hub webhook)
    routing: Routing | None = None  # which FAQ answers where (routes in the store, engines loaded on first use)


class Platform(Protocol):
    """A chat platform, as :func:`run_platform` runs it (``bot/slack/main.py``,
    ``bot/discord/main.py``). Nothing else of the flow is the platform's."""

    name: str  # "slack", "discord": what questions, metrics and logs are labelled with
    serves_operations: bool  # its own HTTP server serves the operations endpoints (Slack's HTTP mode)

    @property
    def settings(self) -> BotSettings:
        """The service's settings and the platform's own, already checked."""

    def connect(self) -> None:
        """Check the platform's credentials before anything slow happens:
        :class:`~faq_core.errors.ConfigError` when the platform refuses them,
        :class:`~faq_core.errors.ServiceError` when it cannot be reached."""

    def start(self, core: Core) -> None:
        """Build the app over ``core`` and start the workers that answer its intake."""

    def checks(self) -> Mapping[str, Check]:
        """The platform's own readiness checks, named (``/readyz``), run after the core's."""

    def serve(self, stop: threading.Event) -> int:
        """Serve until ``stop`` is set; then take no new work and let the work
        in flight finish within ``SHUTDOWN_DEADLINE_SECONDS``. Returns how many
        rows were handed back to the intake; raises a
        :class:`~faq_core.errors.FAQBotError` for what stops it."""


def fail(error: FAQBotError) -> int:
    """Say why the bot cannot run, in one line, and return its exit status."""
    print(f"faq-bot: {error}", file=sys.stderr)
    return exit_status(error)


def open_store(settings: BotSettings) -> Store:
    """The store at ``DATABASE_URL``, its schema upgraded (exit 1 when a
    database server cannot be reached, 2 for a URL or file to fix)."""
    from bot.store.database import open_store as open_database

    store = open_database(settings.database_url)
    log.info("feedback and the intake are stored in %s", store.describe())
    return store


def warm_engine(settings: BotSettings) -> FAQEngine:
    """The engine over the configured index, its model loaded and warm (a
    model not available offline, an index that is not there: exit 2; the
    embedding service or the Hub down: exit 1)."""
    from faq_core.engine import build_engine

    engine = build_engine(settings)
    started = time.perf_counter()
    engine.answer_many(["warm-up question"])  # load the model now, not on the first question
    log.info("model warm (warm-up embedding took %.2f s)", time.perf_counter() - started)
    return engine


def _stop_on_signals(stop: threading.Event) -> None:
    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)


def _webhooks(settings: BotSettings, reloading: Reloading | None, routing: Routing) -> list[BaseRoute]:
    """The Hub webhook (``HUB_WEBHOOK_SECRET``), waking the deployment's reloader and those of the
    indexes loaded for routes; with no secret, none."""
    from bot.serving.hub_webhook import webhook_route_for

    if not settings.hub_webhook_secret:
        return []
    own = [reloading.reloader] if reloading is not None else []
    return [webhook_route_for(lambda: [*own, *routing.engines.reloaders()], settings.hub_webhook_secret)]


def run_platform(make: Callable[[], Platform]) -> int:
    """Run the platform ``make()`` returns until SIGINT/SIGTERM (see the
    module docstring); returns the process exit status."""
    try:
        platform = make()
    except FAQBotError as error:
        return fail(error)
    settings = platform.settings
    from bot.conversation.routing import start_routing
    from bot.ops.http import start_ops_server
    from bot.ops.metrics import Metrics
    from bot.ops.readiness import standard_checks
    from bot.serving.holder import ServingEngine
    from bot.serving.reloading import start_reloading
    from bot.store.routes import RouteTable
    from faq_core.logs import setup_logging

    setup_logging(settings.log_level, settings.secrets(), settings.log_format)
    try:
        platform.connect()
        store = open_store(settings)
    except FAQBotError as error:
        return fail(error)
    reloading: Reloading | None = None
    readiness: Readiness | None = None
    ops: OpsServer | None = None
    core: Core | None = None
    try:
        serving = ServingEngine(warm_engine(settings))
        reloading = start_reloading(serving, settings, store)
        routing = start_routing(settings, serving, RouteTable(store))
        readiness = standard_checks(serving, store, engines=routing.engines)
        metrics = Metrics()
        metrics.watch_engines(routing.engines)
        core = Core(serving, store, metrics, readiness, _webhooks(settings, reloading, routing), routing)
        platform.start(core)
        for name, check in platform.checks().items():
            readiness.add(name, check)
        if not platform.serves_operations:
            try:
                ops = start_ops_server(serving, readiness, core.metrics, host="0.0.0.0", port=settings.metrics_port,
                                       routes=core.routes)
            except OSError as error:
                raise ServiceError(messages.CANNOT_LISTEN.format(where=f"METRICS_PORT={settings.metrics_port}",
                                                                 reason=error.strerror or error)) from None
        stop = threading.Event()
        _stop_on_signals(stop)
        handed = platform.serve(stop)
    except FAQBotError as error:
        return fail(error)
    finally:
        if ops is not None:
            ops.close()
        if readiness is not None:
            readiness.close()
        if reloading is not None:
            reloading.stop()
        if core is not None and core.routing is not None:
            core.routing.engines.stop()
        store.close()
    if handed:
        # Threads still work on what was handed back; Python would wait for them at exit. The store has
        # the rows, so leave now (after writing out the log).
        logging.shutdown()
        os._exit(0)
    return 0
