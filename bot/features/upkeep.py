"""The store's periodic clean-up, the same for every platform (run by the
workers' maintenance): finished intake rows past any retry, and the text
and user of votes and recorded questions, and button references, past
``FEEDBACK_RETENTION_DAYS``; and every row of a tenant whose scheduled
erasure is due (:mod:`bot.store.erasure`, in bounded batches)."""

from __future__ import annotations

import logging

from bot.features.recording import forget_old_questions
from bot.store.database import Store
from bot.store.erasure import erase_due
from bot.store.intake import Intake

log = logging.getLogger(__name__)


def maintain(store: Store, intake: Intake, retention_days: float) -> None:
    """Delete or blank what is past its time (see the module docstring)."""
    rows = intake.prune()
    votes = store.forget_old_feedback(retention_days)
    questions = forget_old_questions(store, retention_days)
    refs = store.forget_old_refs(retention_days)
    erased = erase_due(store)
    if erased:
        log.info("store clean-up: %d rows of departed tenants erased", erased)
    if rows or votes or questions or refs:
        log.info("store clean-up: %d old intake rows deleted, %d old votes and %d old questions made anonymous, "
                 "%d button references deleted", rows, votes, questions, refs)
