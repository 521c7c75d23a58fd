"""The Bolt app: settings, engine and store in; ``App`` (whose ``dispatch``
is the seam every transport calls) out.

``process_before_response=True`` makes ``dispatch`` return as soon as the
listener's ``ack`` has run, with the slow work already handed to a bounded
worker pool (Bolt's lazy listeners). That keeps every acknowledgement fast in
both transports: the HTTP server answers Slack from ``dispatch``'s return
value, and Socket Mode sends the envelope ack from it.
"""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient

from bot.answering import Answerer
from bot.listeners import Services, register
from bot.pool import prestarted_pool
from bot.slack_io import UserNames, make_web_client
from bot.store import Store
from faq_core.engine import FAQEngine
from faq_core.errors import ConfigError
from faq_core.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 16


class _ClientGivenFilter(logging.Filter):
    """Drops Bolt's start-up warning that ``SLACK_BOT_TOKEN`` from the
    environment is unused because a client was given: that is intended here
    (the client carries the same token and ``SLACK_API_URL``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("As you gave `client` as well")


_bolt_log = logging.getLogger("slack_bolt")
_bolt_log.addFilter(_ClientGivenFilter())


def build_app(
    settings: Settings,
    engine: FAQEngine,
    store: Store,
    *,
    client: WebClient | None = None,
    workers: int = DEFAULT_WORKERS,
) -> App:
    """A ready Bolt app. Checks the bot token with ``auth.test`` (Bolt raises
    ``BoltError`` when Slack rejects it). ``client`` overrides the Web API
    client built from ``SLACK_BOT_TOKEN`` and ``SLACK_API_URL``."""
    if client is None:
        if not settings.slack_bot_token:
            raise ConfigError("SLACK_BOT_TOKEN is not set")
        client = make_web_client(settings.slack_bot_token, settings.slack_api_url)
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        # Socket Mode requests are not signed; Bolt checks signatures on HTTP requests only.
        request_verification_enabled=bool(settings.slack_signing_secret),
        process_before_response=True,
        listener_executor=prestarted_pool(workers, "faq-bot-worker"),
        logger=_bolt_log,
        name="faq-bot",
    )
    register(app, Services(engine=engine, answerer=Answerer(engine, top_k=settings.faq_top_k), store=store,
                           names=UserNames(client)))
    return app


def drain(app: App) -> None:
    """Let the replies already being worked on finish, then stop the workers
    (a clean stop answers what it acknowledged)."""
    app.listener_runner.listener_executor.shutdown(wait=True)
