"""The Answerer reports every question to its observers with who asked where
and what became of it, whatever the outcome, and a failing observer never
costs the asker their reply."""

from __future__ import annotations

import pytest

from bot import messages
from bot.conversation.answering import EMPTY, ERROR, Answered, Answerer, Asked
from bot.conversation.replies import Kind
from faq_core.answer import Outcome
from faq_core.engine import FAQEngine
from faq_core.errors import EmbeddingUnavailableError

ASKED = Asked(platform="slack", channel_kind="dm", workspace="T1", channel_id="D1", user_id="U1", key="event:1")


def _answerer(engine: FAQEngine) -> tuple[Answerer, list[Answered]]:
    seen: list[Answered] = []
    return Answerer(engine, observers=[seen.append]), seen


def test_an_answered_question_is_reported_with_its_context(engine: FAQEngine) -> None:
    answerer, seen = _answerer(engine)
    question = engine.index.faqs[0].question
    answerer.reply(question, bot_user_id="UBOT", asked=ASKED)
    [answered] = seen
    assert answered.asked == ASKED and answered.question == question
    assert answered.outcome == Outcome.ANSWERED.value and answered.error is None
    assert answered.answer is not None and answered.answer.best is not None
    assert answered.answer.best.faq_id == engine.index.faqs[0].id
    assert answered.seconds > 0


def test_a_question_it_cannot_answer_is_reported_as_no_match(engine: FAQEngine) -> None:
    answerer, seen = _answerer(engine)
    answerer.reply("What's the capital of France?", bot_user_id=None, asked=ASKED)
    assert [a.outcome for a in seen] == [Outcome.NO_MATCH.value]


def test_empty_and_failed_questions_are_reported_too(engine: FAQEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    answerer, seen = _answerer(engine)
    answerer.reply("", bot_user_id=None, asked=ASKED)

    def down(question: str) -> None:
        raise EmbeddingUnavailableError("the embedding service is down")

    monkeypatch.setattr(answerer.batcher, "answer", down)
    reply = answerer.reply("how do I renew my card?", bot_user_id=None, asked=ASKED)
    assert messages.SERVICE_UNAVAILABLE in reply.text
    assert [(a.outcome, a.error) for a in seen] == [(EMPTY, None), (ERROR, "EmbeddingUnavailableError")]


def test_a_failing_observer_does_not_cost_the_reply(engine: FAQEngine, caplog: pytest.LogCaptureFixture) -> None:
    def broken(answered: Answered) -> None:
        raise RuntimeError("observer bug")

    seen: list[Answered] = []
    answerer = Answerer(engine, observers=[broken, seen.append])
    reply = answerer.reply(engine.index.faqs[0].question, bot_user_id=None, asked=ASKED)
    assert reply.kind is Kind.ANSWER and messages.INTERNAL_ERROR not in reply.text
    assert len(seen) == 1, "the observers after a failing one still hear of the question"
    assert "an answer observer failed" in caplog.text
