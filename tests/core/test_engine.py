"""FAQEngine with the real model on the bundled Medicare sample: awkward
questions, the query cache, the threshold, true cosines, threads."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from faq_core.answer import Outcome
from faq_core.embedders import HFInferenceEmbedder, LocalEmbedder
from faq_core.engine import MAX_QUERY_CHARS, FAQEngine, build_engine
from faq_core.errors import EmbeddingAuthError
from faq_core.index import FAQIndex, write_meta
from faq_core.settings import DEFAULT_MODEL, load_settings
from tests.conftest import share_onnx_model
from tests.core.conftest import CountingEmbedder
from tests.stubs.inference import InferenceStub, Reply

QUESTIONS = [
    "How can Medicare help me?",
    "I lost my Medicare card",
    "What's the capital of France?",
    "how much is part b every month",
    "Do veterans need Medicare Part B?",
    "Can I stop paying for Part B?",
]


@pytest.fixture()
def counting(local_embedder: LocalEmbedder) -> CountingEmbedder:
    return CountingEmbedder(local_embedder)


@pytest.fixture()
def engine(sample_index: FAQIndex, counting: CountingEmbedder) -> FAQEngine:
    return FAQEngine(sample_index, counting)


@pytest.mark.parametrize("text", ["", "   ", "\n\t \u3000 "])
def test_empty_questions_ask_for_a_question(engine: FAQEngine, counting: CountingEmbedder, text: str) -> None:
    answer = engine.answer(text)
    assert answer.outcome is Outcome.EMPTY_QUERY
    assert not answer.answered
    assert answer.matches == () and answer.best is None
    assert answer.to_dict() == {"query": "", "answered": False, "matches": [], "confidence": 0.0,
                                "threshold": engine.threshold, "threshold_source": "automatic",
                                "outcome": "empty_query"}
    assert counting.calls == []  # nothing was sent to the embedder


def test_empty_questions_mixed_with_real_ones(engine: FAQEngine, counting: CountingEmbedder) -> None:
    answers = engine.answer_many(["", "I lost my Medicare card", "  "], k=2)
    assert [a.outcome for a in answers][::2] == [Outcome.EMPTY_QUERY, Outcome.EMPTY_QUERY]
    assert answers[1].best is not None and answers[1].best.faq_id == "replacement-card"
    assert counting.calls == [["I lost my Medicare card"]]


def test_a_very_long_question_is_truncated_and_still_answered(engine: FAQEngine, counting: CountingEmbedder) -> None:
    text = "I lost my Medicare card and " + "I really need to know what to do next, please help. " * 80
    answer = engine.answer(text)
    assert answer.truncated
    assert len(answer.query) == MAX_QUERY_CHARS
    assert text.startswith(answer.query)
    # A normal answer (the model itself reads only the first 256 word pieces): the card FAQ comes first.
    assert answer.matches[0].faq_id == "replacement-card" and len(answer.matches) == 3
    for match in answer.matches:  # each cosine is the true one of the read (cut) text with the FAQ
        assert match.cosine == pytest.approx(_best_cosine(engine, answer.query, match.faq_id), abs=1e-5)
    assert [len(t) for t in counting.calls[0]] == [MAX_QUERY_CHARS]
    assert not engine.answer("How do I get a replacement Medicare card?").truncated


def test_white_space_is_normalised(engine: FAQEngine, counting: CountingEmbedder) -> None:
    answer = engine.answer("  How can\nMedicare   help me?  ")
    assert answer.query == "How can Medicare help me?"


def test_repeated_questions_are_embedded_once(engine: FAQEngine, counting: CountingEmbedder) -> None:
    first = engine.answer("How can Medicare help me?")
    again = engine.answer("How  can Medicare help me? ")  # the same after clean-up
    assert counting.calls == [["How can Medicare help me?"]]
    assert again == first
    many = engine.answer_many(["I lost my Medicare card", "How can Medicare help me?", "I lost my Medicare card"])
    assert counting.calls[1:] == [["I lost my Medicare card"]]  # the new one, once
    assert many[0] == many[2]
    # a batch scores with one matrix product: the same answer, up to the last bits of the readable scores
    assert replace(many[1], matches=(), confidence=0.0) == replace(first, matches=(), confidence=0.0)
    assert [replace(m, score=0.0) for m in many[1].matches] == [replace(m, score=0.0) for m in first.matches]
    np.testing.assert_allclose([m.score for m in many[1].matches], [m.score for m in first.matches], atol=1e-6)


def test_the_cache_is_bounded_least_recently_used(sample_index: FAQIndex, counting: CountingEmbedder) -> None:
    engine = FAQEngine(sample_index, counting, cache_size=2)
    for text in ["a question?", "b question?", "a question?", "c question?", "a question?", "b question?"]:
        engine.answer(text)
    # "b" was the least recently used when "c" came in, so it was embedded again.
    assert counting.calls == [["a question?"], ["b question?"], ["c question?"], ["b question?"]]


def test_scores_are_true_cosines(engine: FAQEngine, sample_index: FAQIndex, local_embedder: LocalEmbedder) -> None:
    query = "How can Medicare help me?"
    answer = engine.answer(query, k=len(sample_index.faqs))
    assert len(answer.matches) == 13
    assert len({m.faq_id for m in answer.matches}) == 13
    q = local_embedder.embed([query])[0].astype(np.float64)
    for match in answer.matches:
        faq = sample_index.faq_by_id(match.faq_id)
        assert faq is not None
        phrasings = local_embedder.embed(list(faq.phrasings)).astype(np.float64)
        cosines = phrasings @ q
        assert match.cosine == pytest.approx(float(cosines.max()), abs=1e-5)
        assert match.matched_text == faq.phrasings[int(np.argmax(cosines))]
    # Real cosines of related sentences, not the seed's 0.01..0.11 "scores".
    assert answer.matches[0].cosine is not None and answer.matches[0].cosine > 0.4
    # the readable scores order the list, never negative, and the first is the confidence
    scores = [m.score for m in answer.matches]
    assert scores == sorted(scores, reverse=True) and min(scores) >= 0
    assert answer.confidence == scores[0]


def test_the_best_match_is_right_for_plain_questions(engine: FAQEngine) -> None:
    expected = {
        "I lost my Medicare card": "replacement-card",
        "how much is part b every month": "part-b-premium",
        "Can I stop paying for Part B?": "terminate-part-b",
    }
    for question, faq_id in expected.items():
        best = engine.answer(question).best
        assert best is not None and best.faq_id == faq_id, question


def test_answered_exactly_when_confidence_reaches_the_threshold(
    sample_index: FAQIndex, local_embedder: LocalEmbedder
) -> None:
    confidence = FAQEngine(sample_index, local_embedder).answer("I lost my Medicare card").confidence
    at = FAQEngine(sample_index, local_embedder, min_score=confidence).answer("I lost my Medicare card")
    assert at.answered and at.outcome is Outcome.ANSWERED and at.threshold == confidence
    above = float(np.nextafter(confidence, 2.0))
    over = FAQEngine(sample_index, local_embedder, min_score=above).answer("I lost my Medicare card")
    assert over.outcome is Outcome.NO_MATCH and not over.answered
    assert over.matches == at.matches  # the matches are still there, shown as suggestions
    for answer in FAQEngine(sample_index, local_embedder).answer_many(QUESTIONS):
        assert answer.answered == (answer.confidence >= answer.threshold)
        assert answer.threshold == sample_index.meta.auto_threshold["threshold"]  # no setting, no calibration
        assert answer.threshold_source == "automatic"


def test_an_off_topic_question_is_not_answered(engine: FAQEngine) -> None:
    answer = engine.answer("What's the capital of France?")
    assert answer.outcome is Outcome.NO_MATCH
    assert answer.matches  # the closest FAQs are still offered


def test_faq_min_score_setting_overrides_the_index(
    sample_index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import shutil

    folder = Path(shutil.copytree(sample_index_dir, tmp_path / "idx"))
    from faq_core.index import load_index

    write_meta(folder, replace(load_index(folder).meta, min_score=0.7))
    base = {"EMBEDDING_BACKEND": "local", "FAQ_INDEX": str(folder),
            "FAQ_CACHE_DIR": str(share_onnx_model(tmp_path / "cache"))}
    assert build_engine(load_settings(base)).threshold == pytest.approx(0.7)  # the index's own threshold
    engine = build_engine(load_settings({**base, "FAQ_MIN_SCORE": "0.93"}))
    assert engine.threshold == pytest.approx(0.93)
    answer = engine.answer("I lost my Medicare card")
    assert answer.threshold == pytest.approx(0.93)
    assert answer.answered == (answer.confidence >= 0.93)
    info = engine.info
    assert (info.source, info.faq_count, info.model_id, info.backend) == (str(folder), 13, DEFAULT_MODEL, "local")
    assert info.phrasing_count == len(engine.index.texts) > 13
    assert info.threshold == pytest.approx(0.93)
    assert (info.display_name, info.bundled_sample) == ("idx", False)
    assert info.example == engine.index.faqs[0].question
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_without_an_index_setting_the_bundled_sample_is_served(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings({"EMBEDDING_BACKEND": "local", "FAQ_CACHE_DIR": str(share_onnx_model(tmp_path / "cache"))})
    with caplog.at_level(logging.INFO, logger="faq_core.engine"):
        engine = build_engine(settings)
    assert engine.info.faq_count == 13
    assert engine.info.bundled_sample and engine.info.display_name == "the bundled Medicare sample"
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith("FAQ_INDEX is not set: serving the bundled Medicare sample (13 FAQs about Medicare)")
    assert "faq-bot index build" in warning
    cached = [p for p in (tmp_path / "cache").iterdir() if p.name != "onnx"]
    assert len(cached) == 1 and (cached[0] / "faq_index.json").is_file()
    # The second start loads the cached index instead of embedding again.
    again = build_engine(settings)
    assert again.index.location == str(cached[0])


def test_several_threads_answer_consistently(engine: FAQEngine) -> None:
    expected = {q: engine.answer(q, k=3) for q in QUESTIONS}
    engine._cache.clear()
    results: list[tuple[str, object]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def worker(offset: int) -> None:
        try:
            barrier.wait()
            for n in range(24):
                question = QUESTIONS[(offset + n) % len(QUESTIONS)]
                results.append((question, engine.answer(question, k=3)))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(results) == 6 * 24
    for question, answer in results:
        assert answer == expected[question]


def test_embedding_failures_reach_the_caller_as_typed_errors(sample_index: FAQIndex) -> None:
    with InferenceStub(lambda texts: np.zeros((len(texts), 384), dtype=np.float32)) as stub:
        embedder = HFInferenceEmbedder(url=stub.router_url(), model_id=DEFAULT_MODEL, token="hf_wrong_token")
        engine = FAQEngine(sample_index, embedder)
        with pytest.raises(EmbeddingAuthError):
            engine.answer("How can Medicare help me?")
        stub.script(Reply(200, [[0.0] * 384]))
        # An empty question never reaches the service, even when it is down.
        assert engine.answer(" ").outcome is Outcome.EMPTY_QUERY
        assert len(stub.requests) == 1


def test_k_is_respected_and_capped(engine: FAQEngine) -> None:
    question = "How can Medicare help me?"
    ranked = [m.faq_id for m in engine.answer(question, k=100).matches]
    assert sorted(ranked) == sorted(f.id for f in engine.index.faqs)  # capped at every FAQ, each once
    for k in (1, 3, 5):
        matches = engine.answer(question, k=k).matches
        assert [m.faq_id for m in matches] == ranked[:k]  # the best k, in the same order
        scores = [m.score for m in matches]
        assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)
        for match in matches:  # each match's cosine is the true one of its closest phrasing
            assert match.cosine == pytest.approx(_best_cosine(engine, question, match.faq_id), abs=1e-5)


def _best_cosine(engine: FAQEngine, question: str, faq_id: str) -> float:
    """The cosine of ``question`` with the closest phrasing of ``faq_id``, computed here from scratch."""
    index = engine.index
    rows = [i for i, owner in enumerate(index.owner) if index.faqs[owner].id == faq_id]
    query = engine.embedder.embed([question])[0]
    phrasings = engine.embedder.embed([index.texts[i] for i in rows])
    return float(max(phrasings @ query))
