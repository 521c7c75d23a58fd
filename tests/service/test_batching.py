"""Questions asked at the same time share one model call, and each asker
still gets the answer to its own question (or the engine's error)."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import numpy as np
import pytest

from bot.conversation.batching import QuestionBatcher
from faq_core.embedders import Embedder, LocalEmbedder
from faq_core.engine import FAQEngine
from faq_core.errors import EmbeddingUnavailableError
from faq_core.index import FAQIndex


class GatedEmbedder(Embedder):
    """The local model, held at its first call until the test opens the gate;
    it records the size of every call."""

    backend = "local"

    def __init__(self, inner: LocalEmbedder, fail: bool = False) -> None:
        super().__init__(inner.model_id)
        self.inner = inner
        self.fail = fail
        self.calls: list[int] = []
        self.entered = threading.Event()
        self.gate = threading.Event()

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        self.calls.append(len(texts))
        self.entered.set()
        assert self.gate.wait(30)
        if self.fail:
            raise EmbeddingUnavailableError("the embedding service timed out", status=504)
        return np.asarray(self.inner.embed(texts))


def held_batcher(embedder: GatedEmbedder, index: FAQIndex, first_question: str) -> tuple[QuestionBatcher, Future]:
    """A batcher whose first question is held inside the model, so the next ones queue into one batch."""
    batcher = QuestionBatcher(FAQEngine(index, embedder), k=2)
    first = batcher.submit(first_question)
    assert embedder.entered.wait(30)  # the first question is being embedded alone
    return batcher, first


def test_questions_waiting_together_are_embedded_in_one_call(
    sample_index: FAQIndex, local_embedder: LocalEmbedder
) -> None:
    embedder = GatedEmbedder(local_embedder)
    batcher, first = held_batcher(embedder, sample_index, "I lost my Medicare card")
    others = ["How much is Part B each month?", "Can I cancel Part B?", "What is TRICARE?",
              "How do I sign up for Medicare?", "What are the parts of Medicare?"]
    futures = [batcher.submit(q) for q in others]
    embedder.gate.set()
    assert first.result(30).best.faq_id == "replacement-card"  # type: ignore[union-attr]
    answers = [f.result(30) for f in futures]
    batcher.close()
    assert embedder.calls == [1, 5]  # the five that waited went together
    assert [a.query for a in answers] == others  # and each asker got its own answer
    assert [a.best.faq_id for a in answers] == [  # type: ignore[union-attr]
        "part-b-premium", "terminate-part-b", "tricare", "sign-up", "parts-of-medicare"]


def test_an_engine_failure_reaches_every_asker_of_the_batch_and_the_batcher_recovers(
    sample_index: FAQIndex, local_embedder: LocalEmbedder
) -> None:
    embedder = GatedEmbedder(local_embedder, fail=True)
    batcher = QuestionBatcher(FAQEngine(sample_index, embedder))
    futures = [batcher.submit(q) for q in ("one question", "another question")]
    embedder.gate.set()
    for future in futures:
        with pytest.raises(EmbeddingUnavailableError):
            future.result(30)
    embedder.fail = False
    assert batcher.answer("I lost my Medicare card").best.faq_id == "replacement-card"  # type: ignore[union-attr]
    batcher.close()


class PoisonEmbedder(GatedEmbedder):
    """Fails any call that holds the poisoned question, like a text the model cannot encode."""

    POISON = "poisoned \ud800 question"

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        if self.POISON in texts:
            self.calls.append(len(texts))
            self.entered.set()
            assert self.gate.wait(30)
            raise UnicodeEncodeError("utf-8", self.POISON, 9, 10, "surrogates not allowed")
        return super()._embed_batch(texts)


def test_one_bad_question_fails_only_itself_not_its_batch(
    sample_index: FAQIndex, local_embedder: LocalEmbedder
) -> None:
    embedder = PoisonEmbedder(local_embedder)
    batcher, first = held_batcher(embedder, sample_index, "What is TRICARE?")
    good = ["I lost my Medicare card", "Can I cancel Part B?", "How do I sign up for Medicare?"]
    futures = [batcher.submit(q) for q in (good[0], PoisonEmbedder.POISON, *good[1:])]
    embedder.gate.set()
    first.result(30)
    with pytest.raises(UnicodeEncodeError):
        futures[1].result(30)
    answers = [futures[i].result(30) for i in (0, 2, 3)]
    batcher.close()
    assert embedder.calls[:2] == [1, 4]  # the four went together, and that call failed
    assert [a.best.faq_id for a in answers] == [  # type: ignore[union-attr]
        "replacement-card", "terminate-part-b", "sign-up"]
