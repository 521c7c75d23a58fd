"""Properties of the blend scorer: each match carries the plain cosine of its
best phrasing, one phrasing per FAQ reduces to centered nearest-phrasing, the
whitening and the adapter are what their docstrings say, and the confidence
and readable scores are the documented combination."""

from __future__ import annotations

import numpy as np
import pytest

from faq_core import scoring
from faq_core.confidence import TEMPERATURE
from faq_core.engine import FAQEngine
from faq_core.faqs import FAQ
from faq_core.index import FAQIndex, IndexMeta
from faq_core.scoring import (
    ALPHA,
    BETA,
    GAMMA,
    BlendScorer,
    NearestPhrasing,
    make_scorer,
    train_adapter,
    within_faq_whitening,
)
from tests.core.conftest import TableEmbedder

DIM = 12


def unit(matrix: np.ndarray) -> np.ndarray:
    return (matrix / np.linalg.norm(matrix, axis=-1, keepdims=True)).astype(np.float32)


def clustered_index(rng: np.random.Generator, counts: list[int]) -> FAQIndex:
    centres = rng.standard_normal((len(counts), DIM))
    vectors = unit(np.repeat(centres, counts, axis=0) + 0.6 * rng.standard_normal((sum(counts), DIM)))
    owner = np.repeat(np.arange(len(counts)), counts)
    faqs = [FAQ(id=f"faq-{j}", question=f"question {j}?") for j in range(len(counts))]
    meta = IndexMeta(model_id="test/model", dim=DIM, faq_count=len(counts), phrasing_count=len(owner))
    return FAQIndex(faqs, [f"phrasing {i}" for i in range(len(owner))], vectors, owner, meta)


def engine_with(index: FAQIndex, queries: np.ndarray, scoring: str = "blend") -> tuple[FAQEngine, list[str]]:
    texts = [f"query {i}" for i in range(len(queries))]
    embedder = TableEmbedder(dict(zip(texts, queries, strict=True)), model_id="test/model")
    return FAQEngine(index, embedder, scoring=scoring, min_score=0.0), texts


@pytest.mark.parametrize("counts", [[3, 1, 4, 2, 5], [1] * 6, [7]])
def test_match_cosine_is_the_plain_cosine_of_the_best_phrasing(counts: list[int]) -> None:
    rng = np.random.default_rng(len(counts))
    index = clustered_index(rng, counts)
    queries = unit(rng.standard_normal((8, DIM)))
    engine, texts = engine_with(index, queries)
    for query, answer in zip(queries, engine.answer_many(texts, k=len(counts)), strict=True):
        assert len(answer.matches) == len(counts)
        for match in answer.matches:
            position = int(match.faq_id.split("-")[1])
            rows = np.flatnonzero(index.owner == position)
            cosines = [float(index.vectors[r] @ query) for r in rows]
            assert match.cosine == pytest.approx(max(cosines), abs=1e-6)
            assert match.matched_text == index.texts[rows[int(np.argmax(cosines))]]


def test_one_phrasing_per_faq_reduces_to_centered_nearest_phrasing() -> None:
    rng = np.random.default_rng(7)
    index = clustered_index(rng, [1] * 9)
    scorer = BlendScorer(index)
    np.testing.assert_allclose(scorer.whitening, np.eye(DIM), atol=1e-7)  # nothing to learn from one wording
    queries = unit(rng.standard_normal((20, DIM)))
    mean = index.vectors.mean(axis=0)
    expected = unit(queries - mean) @ unit(index.vectors - mean).T
    np.testing.assert_allclose(scorer.rank_scores(queries), expected, atol=1e-5)
    # the confidence of the top FAQ is then its plain cosine times its ranking share
    engine, texts = engine_with(index, queries)
    for query, answer in zip(queries, engine.answer_many(texts), strict=True):
        assert answer.confidence == pytest.approx(answer.matches[0].score, abs=1e-6)
        row = expected[texts.index(answer.query)]
        best = int(np.argmax(row))
        assert answer.matches[0].faq_id == f"faq-{best}"
        share = 1 / np.exp((row - row[best]) / engine.scorer.temperature).sum()  # type: ignore[attr-defined]
        assert answer.confidence == pytest.approx(max(float(index.vectors[best] @ query), 0) * share, abs=1e-5)


def test_confidence_is_the_plain_cosine_blend_times_the_ranking_share() -> None:
    rng = np.random.default_rng(3)
    index = clustered_index(rng, [4, 2, 6, 3])
    # questions near FAQ centres (clearly positive cosines) and random ones
    queries = unit(np.concatenate([index.vectors[[0, 5, 9]] + 0.1 * rng.standard_normal((3, DIM)),
                                   rng.standard_normal((10, DIM))]))
    engine, texts = engine_with(index, queries)
    ranks = BlendScorer(index).rank_scores(queries)
    for i, (query, answer) in enumerate(zip(queries, engine.answer_many(texts, k=4), strict=True)):
        top = int(answer.matches[0].faq_id.split("-")[1])
        rows = index.vectors[index.owner == top]
        centroid = rows.sum(axis=0) / np.linalg.norm(rows.sum(axis=0))
        plain = max(BETA * float(np.max(rows @ query)) + (1 - BETA) * float(centroid @ query), 0.0)
        shares = np.exp((ranks[i] - ranks[i].max()) / TEMPERATURE)
        shares /= shares.sum()
        assert answer.confidence == pytest.approx(plain * shares[top], abs=1e-5)
        # every shown FAQ: the top's plain confidence x its own share, so the list is in ranking order
        for match in answer.matches:
            assert match.score == pytest.approx(plain * shares[int(match.faq_id.split("-")[1])], abs=1e-5)
        scores = [m.score for m in answer.matches]
        assert scores == sorted(scores, reverse=True) and min(scores) >= 0 and max(scores) <= 1
        assert answer.answered == (answer.confidence >= answer.threshold)
    assert max(a.confidence for a in engine.answer_many(texts[:3])) > 0.3  # not all flattened to zero


def test_rank_scores_blend_best_phrasing_and_centroid_in_the_adapted_space() -> None:
    rng = np.random.default_rng(11)
    index = clustered_index(rng, [3, 5, 2])
    scorer = BlendScorer(index, gamma=0.0)
    queries = unit(rng.standard_normal((5, DIM)))
    adapted = scorer.adapt(queries)
    phr = unit(unit(index.vectors - scorer.mean) @ scorer.whitening)
    for j in range(3):
        rows = phr[index.owner == j]
        centroid = rows.sum(axis=0) / np.linalg.norm(rows.sum(axis=0))
        expected = ALPHA * (adapted @ rows.T).max(axis=1) + (1 - ALPHA) * (adapted @ centroid)
        np.testing.assert_allclose(scorer.rank_scores(queries)[:, j], expected, atol=1e-5)


def test_the_adapter_adds_its_logits_at_unit_spread() -> None:
    rng = np.random.default_rng(13)
    index = clustered_index(rng, [4, 6, 3, 5])
    with_adapter, without = BlendScorer(index), BlendScorer(index, gamma=0.0)
    assert with_adapter.adapter_trained and not without.adapter_trained
    weights, bias = train_adapter(with_adapter.adapted_phrasings(), index.owner, 4)
    train_logits = with_adapter.adapted_phrasings() @ weights.T + bias
    queries = unit(rng.standard_normal((6, DIM)))
    logits = with_adapter.adapt(queries) @ weights.T + bias
    np.testing.assert_allclose(with_adapter.rank_scores(queries) - without.rank_scores(queries),
                               GAMMA * logits / train_logits.std(), atol=1e-4)


def test_adapter_learns_the_phrasings_and_is_deterministic() -> None:
    rng = np.random.default_rng(17)
    index = clustered_index(rng, [5, 5, 5, 5, 5])
    first = train_adapter(index.vectors, index.owner, 5)
    second = train_adapter(index.vectors, index.owner, 5)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    predicted = np.argmax(index.vectors @ first[0].T + first[1], axis=1)
    assert np.array_equal(predicted, index.owner)


def test_adapter_is_skipped_for_single_phrasings_and_oversized_indexes(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(19)
    assert not BlendScorer(clustered_index(rng, [1] * 5)).adapter_trained
    index = clustered_index(rng, [3, 4, 2])
    assert BlendScorer(index).adapter_trained
    monkeypatch.setattr(scoring, "ADAPTER_MAX_CELLS", 9 * 3 - 1)
    skipped = BlendScorer(index)
    assert not skipped.adapter_trained
    np.testing.assert_allclose(skipped.rank_scores(index.vectors), BlendScorer(index, gamma=0.0).rank_scores(
        index.vectors), atol=1e-6)


def test_whitening_inverts_the_shrunk_within_faq_covariance() -> None:
    rng = np.random.default_rng(5)
    index = clustered_index(rng, [6, 4, 8, 5])
    vectors, owner, starts = index.vectors.astype(np.float64), index.owner, index.starts
    whitening = within_faq_whitening(index.vectors, owner, starts).astype(np.float64)
    means = np.stack([vectors[owner == j].mean(axis=0) for j in range(4)])
    residual = vectors - means[owner]
    dof = len(vectors) - 4
    within = residual.T @ residual / dof
    shrink = DIM / (DIM + dof)
    shrunk = (1 - shrink) * within + shrink * np.trace(within) / DIM * np.eye(DIM)
    np.testing.assert_allclose(whitening @ shrunk @ whitening, np.eye(DIM), atol=1e-4)
    np.testing.assert_allclose(whitening, whitening.T, atol=1e-6)


def test_identical_phrasings_fall_back_to_no_whitening() -> None:
    vectors = unit(np.repeat(np.eye(DIM)[:3], 2, axis=0))
    owner = np.repeat(np.arange(3), 2)
    starts = np.array([0, 2, 4])
    np.testing.assert_allclose(within_faq_whitening(vectors, owner, starts), np.eye(DIM))


def test_nearest_scorer_is_plain_best_phrasing() -> None:
    rng = np.random.default_rng(2)
    index = clustered_index(rng, [2, 3, 1])
    queries = unit(rng.standard_normal((4, DIM)))
    scores = NearestPhrasing(index).rank_scores(queries)
    for j in range(3):
        np.testing.assert_allclose(scores[:, j], (queries @ index.vectors[index.owner == j].T).max(axis=1),
                                   atol=1e-6)
    engine, texts = engine_with(index, queries, scoring="nearest")
    for answer in engine.answer_many(texts):
        assert answer.confidence == pytest.approx(answer.matches[0].score, abs=1e-6)


def test_unknown_scoring_is_refused() -> None:
    index = clustered_index(np.random.default_rng(0), [1, 1])
    with pytest.raises(ValueError, match="unknown scoring 'fancy'"):
        make_scorer(index, "fancy")
