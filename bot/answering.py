"""Question in, Slack reply out, whatever happens in between.

The only place the bot asks the engine (through the batcher, so questions
arriving together share one model call). A failing embedding service becomes
a short "unavailable right now" reply and a log line with the cause; any other
failure becomes a polite apology and a logged stack trace. Either way the bot
keeps serving, and no exception text ever reaches a person.
"""

from __future__ import annotations

import logging

from bot import messages
from bot.batching import QuestionBatcher
from bot.blocks import Reply, answer_reply, notice_reply, usage_reply
from bot.payloads import AnswerRef
from faq_core.engine import FAQEngine
from faq_core.errors import EmbeddingError

log = logging.getLogger(__name__)


class Answerer:
    """Asks the engine and lays out the reply."""

    def __init__(self, engine: FAQEngine, *, top_k: int = 3) -> None:
        self.engine = engine
        self.top_k = max(top_k, 1)
        self.batcher = QuestionBatcher(engine, k=self.top_k)

    def reply(self, question: str, *, bot_user_id: str | None, shareable: bool = False) -> Reply:
        """The reply to ``question`` (already made readable): usage help when
        it is empty, the answer or "no good answer", or an error notice."""
        if not question:
            return usage_reply(bot_user_id, self.engine.info)
        try:
            answer = self.batcher.answer(question)
        except EmbeddingError as error:
            log.error("the embedding service failed (%s): %s", type(error).__name__, error)
            return notice_reply(messages.SERVICE_UNAVAILABLE)
        except Exception:
            log.exception("answering a question failed")
            return notice_reply(messages.INTERNAL_ERROR)
        if answer.best is None:
            return usage_reply(bot_user_id, self.engine.info)
        reply = answer_reply(answer, AnswerRef.from_answer(answer), shareable=shareable)
        best = answer.best
        log.info("answered=%s faq=%s score=%.3f query_chars=%d",
                 answer.answered, best.faq_id, best.score, len(answer.query))
        return reply
