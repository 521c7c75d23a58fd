"""Start-up steps every platform's ``main`` takes, each failing with one line.

Open the store (upgrading its schema), then load the FAQ index and the model
and embed one warm-up question, so the first reply is as fast as the others.
A failure is a :class:`StartupFailure` carrying the sentence to print and the
exit status, as the CLI's (:func:`faq_core.errors.exit_status`): 2 for a
setting to fix, 1 when a service failed (a database server, the embedding
service or the Hub down).
"""

from __future__ import annotations

import logging
import time

from bot.settings import BotSettings
from bot.store import database as stores
from bot.store.database import Store
from faq_core.engine import FAQEngine
from faq_core.errors import FAQBotError, exit_status

log = logging.getLogger("bot")


class StartupFailure(Exception):
    """Start-up cannot go on: ``message`` says why, ``code`` is the exit status."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def open_store(settings: BotSettings) -> Store:
    """The store at ``DATABASE_URL``, its schema upgraded (exit 1 when a
    database server cannot be reached, 2 for a URL or file to fix)."""
    try:
        store = stores.open_store(settings.database_url)
    except FAQBotError as error:
        raise StartupFailure(str(error), exit_status(error)) from None
    log.info("feedback and the intake are stored in %s", store.describe())
    return store


def warm_engine(settings: BotSettings) -> FAQEngine:
    """The engine over the configured index, its model loaded and warm."""
    from faq_core.engine import build_engine

    try:
        engine = build_engine(settings)
        started = time.perf_counter()
        engine.answer_many(["warm-up question"])  # load the model now, not on the first question
    except FAQBotError as error:  # a model not available offline, an index that is not there: 2; a service down: 1
        raise StartupFailure(str(error), exit_status(error)) from None
    log.info("model warm (warm-up embedding took %.2f s)", time.perf_counter() - started)
    return engine
