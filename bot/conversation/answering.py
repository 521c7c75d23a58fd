"""Question in, reply out, whatever happens in between.

The only place the bot asks the engine (through the batcher, so questions
arriving together share one model call). A failing embedding service becomes
a short "unavailable right now" reply and a log line with the cause; any other
failure becomes a polite apology and a logged stack trace. Either way the bot
keeps serving, and no exception text ever reaches a person.

Every question answered here is also reported, as an :class:`Answered`, to the
Answerer's observers (recording for the review loop, metrics), whatever the
platform: a platform says who asked where with an :class:`Asked`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import messages
from bot.conversation.batching import MAX_BATCH, QuestionBatcher
from bot.conversation.payloads import AnswerRef
from bot.conversation.replies import HandOffSettings, ReplyContent, answer_reply, notice_reply, usage_reply
from bot.serving.holder import ServingEngine, as_serving
from faq_core.answer import Answer
from faq_core.engine import FAQEngine
from faq_core.errors import EmbeddingError, FAQBotError
from faq_core.observers import tell_each

if TYPE_CHECKING:  # routing imports this module (for Asked)
    from bot.conversation.routing import Routing

log = logging.getLogger(__name__)

# Answered.outcome for questions that got no answer at all
ERROR = "error"
EMPTY = "empty"
UNROUTED = "unrouted"  # no FAQ is set up where it was asked


@dataclass(frozen=True)
class Asked:
    """Who asked where (never the message text): what observers record beside
    the question. ``key`` is the intake key of the work, unique per question."""

    platform: str  # "slack", "discord", ...
    channel_kind: str  # "channel", "thread", "dm", "command"
    workspace: str | None = None  # Slack team id, Discord guild id: as the platform vouched for it
    channel_id: str | None = None
    user_id: str | None = None
    key: str | None = None
    enterprise: str | None = None  # Slack Enterprise Grid org id
    parent_id: str | None = None  # a thread's channel: where routes look (a thread follows its channel)


UNKNOWN = Asked(platform="unknown", channel_kind="unknown")


@dataclass(frozen=True)
class Answered:
    """One question and what became of it, as reported to observers.
    ``outcome`` is the answer's :class:`~faq_core.answer.Outcome` value, or
    ``"error"`` (then ``error`` names the failure kind) or ``"empty"``."""

    asked: Asked
    question: str
    answer: Answer | None
    outcome: str
    seconds: float
    error: str | None = None
    answer_id: str | None = None  # the id the reply's buttons carry: links votes and picks to the question
    engine: FAQEngine | None = None  # the engine that answered (routing: not necessarily the Answerer's own)


AnswerObserver = Callable[[Answered], None]


class Answerer:
    """Asks the engine, builds the reply content and tells the observers."""

    def __init__(self, engine: FAQEngine | ServingEngine, *, top_k: int = 3, max_batch: int = MAX_BATCH,
                 observers: Sequence[AnswerObserver] = (), handoff: HandOffSettings | None = None,
                 routing: Routing | None = None) -> None:
        self.engine = as_serving(engine)  # shared with the batcher: a reload swaps the engine for both
        self.handoff = handoff
        self.top_k = max(top_k, 1)
        self.batcher = QuestionBatcher(self.engine, k=self.top_k, max_batch=max_batch)
        self.observers: list[AnswerObserver] = list(observers)
        # With routing, each question is answered by its place's engine, each with a batcher of its own.
        self.routing = routing
        self._batchers: dict[int, QuestionBatcher] = {id(self.engine): self.batcher}
        self._batchers_lock = threading.Lock()
        if routing is not None:
            routing.engines.evicted.append(self._evicted)

    def _batcher(self, serving: ServingEngine) -> QuestionBatcher:
        """The batcher of ``serving`` (made on its first question)."""
        with self._batchers_lock:
            batcher = self._batchers.get(id(serving))
            if batcher is None or batcher.engine is not serving:
                batcher = self._batchers[id(serving)] = QuestionBatcher(serving, k=self.top_k,
                                                                          max_batch=self.batcher.max_batch)
            return batcher

    def _evicted(self, _ref: str, serving: ServingEngine) -> None:
        """An engine was evicted: stop its batcher (the questions it holds are answered first)."""
        with self._batchers_lock:
            batcher = self._batchers.get(id(serving))
            if batcher is not None and batcher.engine is serving and serving is not self.engine:
                del self._batchers[id(serving)]
                batcher.close()

    def _routed(self, question: str, asked: Asked) -> ServingEngine | ReplyContent:
        """The engine answering where ``asked`` was asked, or the reply saying why none does."""
        assert self.routing is not None
        try:
            serving = self.routing.engine_for(asked)
        except FAQBotError as error:
            log.error("the FAQ routed here cannot be loaded: %s", error, extra=_fields(asked, ERROR, 0.0))
            self._tell(Answered(asked, question, None, ERROR, 0.0, error=type(error).__name__))
            return notice_reply(messages.FAQ_CANNOT_LOAD)
        if serving is None:
            self._tell(Answered(asked, question, None, UNROUTED, 0.0))
            return notice_reply(messages.NO_FAQ_HERE)
        return serving

    def _tell(self, answered: Answered) -> None:
        tell_each(self.observers, answered, log=log, what="an answer observer")

    def reply(self, question: str, *, bot_user_id: str | None, shareable: bool = False,
              asked: Asked = UNKNOWN) -> ReplyContent:
        """The reply to ``question`` (already made readable), as platform-neutral
        content each platform renders: usage help when it is empty, the answer
        or "no good answer", or an error notice. With routing, the engine is
        the one routed where it was asked, and a place without one is told so."""
        serving, batcher = self.engine, self.batcher
        if self.routing is not None:
            routed = self._routed(question, asked)
            if isinstance(routed, ReplyContent):
                return routed
            serving, batcher = routed, self._batcher(routed)
        if not question:
            self._tell(Answered(asked, question, None, EMPTY, 0.0))
            return usage_reply(bot_user_id, serving.info)
        started = time.perf_counter()
        engine = serving.current
        try:
            answer = batcher.answer(question)
        except EmbeddingError as error:
            seconds = time.perf_counter() - started
            log.error("the embedding service failed (%s): %s", type(error).__name__, error,
                      extra=_fields(asked, ERROR, seconds))
            self._tell(Answered(asked, question, None, ERROR, seconds, error=type(error).__name__))
            return notice_reply(messages.SERVICE_UNAVAILABLE)
        except Exception as error:
            seconds = time.perf_counter() - started
            log.exception("answering a question failed", extra=_fields(asked, ERROR, seconds))
            self._tell(Answered(asked, question, None, ERROR, seconds, error=type(error).__name__))
            return notice_reply(messages.INTERNAL_ERROR)
        seconds = time.perf_counter() - started
        ref = AnswerRef.from_answer(answer) if answer.best is not None else None
        self._tell(Answered(asked, question, answer, str(answer.outcome), seconds,
                            answer_id=ref.answer_id if ref is not None else None, engine=engine))
        best = answer.best
        if ref is None or best is None:
            return usage_reply(bot_user_id, serving.info)
        reply = answer_reply(answer, ref, shareable=shareable, handoff=self.handoff)
        log.info("answered=%s faq=%s score=%.3f query_chars=%d",
                 answer.answered, best.faq_id, best.score, len(answer.query),
                 extra=_fields(asked, str(answer.outcome), seconds))
        return reply


def _fields(asked: Asked, outcome: str, seconds: float) -> dict[str, object]:
    """The structured fields of a question's log line (``LOG_FORMAT=json`` writes them)."""
    return {"question_id": asked.key, "outcome": outcome, "latency_ms": round(seconds * 1000, 1),
            "platform": asked.platform}
