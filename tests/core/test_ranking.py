"""Ranking against a brute-force reference written with plain Python loops,
on random data of awkward sizes: k beyond the FAQ count, exact ties, one FAQ,
one phrasing, FAQs with many phrasings, many questions at once."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from faq_core import ranking
from faq_core.engine import FAQEngine
from faq_core.faqs import FAQ
from faq_core.index import FAQIndex, IndexMeta
from tests.core.conftest import TableEmbedder

DIM = 16


def reference_ranking(vectors: np.ndarray, counts: list[int], query: np.ndarray, k: int) -> list[tuple[int, float]]:
    """(FAQ position, best phrasing cosine) of the top k, best first, ties by
    FAQ order: loops over plain floats, no numpy arithmetic."""
    rows = vectors.tolist()
    q = query.tolist()
    best: list[float] = []
    row = 0
    for count in counts:
        top = None
        for _ in range(count):
            score = 0.0
            for a, b in zip(rows[row], q, strict=True):
                score += a * b
            top = score if top is None or score > top else top
            row += 1
        assert top is not None
        best.append(top)
    order = sorted(range(len(counts)), key=lambda j: (-best[j], j))
    return [(j, best[j]) for j in order[:k]]


def unit(matrix: np.ndarray) -> np.ndarray:
    return (matrix / np.linalg.norm(matrix, axis=-1, keepdims=True)).astype(np.float32)


def random_index(rng: np.random.Generator, counts: list[int], dim: int = DIM) -> FAQIndex:
    vectors = unit(rng.standard_normal((sum(counts), dim)))
    return index_of(vectors, counts)


def index_of(vectors: np.ndarray, counts: list[int]) -> FAQIndex:
    faqs = [FAQ(id=f"faq-{j}", question=f"question {j}?") for j in range(len(counts))]
    owner = np.repeat(np.arange(len(counts)), counts)
    texts = [f"phrasing {i} of faq {j}" for i, j in enumerate(owner)]
    meta = IndexMeta(model_id="test/model", dim=vectors.shape[1], faq_count=len(counts), phrasing_count=len(texts))
    return FAQIndex(faqs, texts, np.ascontiguousarray(vectors, dtype=np.float32), owner, meta)


def engine_for(index: FAQIndex, queries: np.ndarray) -> FAQEngine:
    table = {f"query {i}": q for i, q in enumerate(queries)}
    embedder = TableEmbedder(table, model_id="test/model")
    return FAQEngine(index, embedder, scoring="nearest", min_score=0.0)


SHAPES = {
    "one FAQ, one phrasing": [1],
    "one FAQ, many phrasings": [9],
    "single phrasings": [1] * 7,
    "many phrasings each": [12, 30, 7, 25],
    "mixed": [1, 3, 1, 1, 8, 2, 1, 5, 1, 1, 1, 4],
    "two FAQs": [2, 1],
    "wide": [1, 2] * 60,
}


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("k", [1, 2, 3, 5, 50])
def test_primitives_equal_the_reference(shape: str, k: int) -> None:
    counts = SHAPES[shape]
    rng = np.random.default_rng(zlib.crc32(f"{shape}/{k}".encode()))
    index = random_index(rng, counts)
    queries = unit(rng.standard_normal((4, DIM)))
    cosines = ranking.phrasing_scores(index.vectors, queries)
    assert cosines.shape == (4, sum(counts))
    per_faq = ranking.best_per_faq(cosines, index.starts)
    assert per_faq.shape == (4, len(counts))
    for q, query in enumerate(queries):
        expected = reference_ranking(index.vectors, counts, query, k)
        top = ranking.top_k(per_faq[q], k)
        assert top.tolist() == [j for j, _ in expected]
        np.testing.assert_allclose(per_faq[q][top], [s for _, s in expected], atol=1e-6)
        for j in top:
            row, _ = ranking.best_phrasing(index.vectors, index.starts, index.ends, int(j), query)
            assert index.owner[row] == j
            assert cosines[q][row] == per_faq[q][j]


@pytest.mark.parametrize("shape", list(SHAPES))
def test_engine_ranking_equals_the_reference(shape: str) -> None:
    counts = SHAPES[shape]
    rng = np.random.default_rng(len(counts) * 7919 + sum(counts))
    index = random_index(rng, counts)
    queries = unit(rng.standard_normal((5, DIM)))
    engine = engine_for(index, queries)
    for k in (1, 3, len(counts), len(counts) + 4):
        for i, query in enumerate(queries):
            answer = engine.answer(f"query {i}", k=k)
            expected = reference_ranking(index.vectors, counts, query, k)
            assert [m.faq_id for m in answer.matches] == [f"faq-{j}" for j, _ in expected]
            np.testing.assert_allclose([m.cosine for m in answer.matches], [s for _, s in expected], atol=1e-6)
            # nearest-phrasing's readable score is its cosine, clipped at 0
            np.testing.assert_allclose([m.score for m in answer.matches], [max(s, 0) for _, s in expected], atol=1e-6)
            assert answer.confidence == pytest.approx(max(expected[0][1], 0), abs=1e-6)


def test_many_questions_at_once_equal_one_at_a_time() -> None:
    rng = np.random.default_rng(2024)
    counts = [int(c) for c in rng.integers(1, 6, size=40)]
    index = random_index(rng, counts)
    queries = unit(rng.standard_normal((300, DIM)))  # more than one scoring chunk
    engine = engine_for(index, queries)
    texts = [f"query {i}" for i in range(300)]
    together = engine.answer_many(texts, k=4)
    assert len(together) == 300
    for i, answer in enumerate(together):
        expected = reference_ranking(index.vectors, counts, queries[i], 4)
        assert answer.query == texts[i]
        assert [m.faq_id for m in answer.matches] == [f"faq-{j}" for j, _ in expected]
        np.testing.assert_allclose([m.cosine for m in answer.matches], [s for _, s in expected], atol=1e-6)


def exact_tie_index() -> tuple[FAQIndex, list[int], np.ndarray]:
    """Scores that are exact in float32 whatever the summation order: the
    question is the first basis vector, so a phrasing's cosine is its first
    coordinate; several FAQs share the same best value."""
    counts = [2, 1, 3, 1, 2, 1]
    firsts = [0.25, 0.5, 0.5, 0.125, -0.5, 0.5, 0.25, 0.5, 0.0, 0.5]
    rng = np.random.default_rng(5)
    vectors = np.zeros((len(firsts), DIM), dtype=np.float32)
    vectors[:, 0] = firsts
    vectors[:, 1:] = rng.standard_normal((len(firsts), DIM - 1)).astype(np.float32)
    vectors[:, 1:] *= (np.sqrt(1 - np.square(firsts)) / np.linalg.norm(vectors[:, 1:], axis=1))[:, None]
    query = np.zeros(DIM, dtype=np.float32)
    query[0] = 1.0
    return index_of(vectors, counts), counts, query


def test_exact_ties_are_broken_by_faq_order() -> None:
    index, counts, query = exact_tie_index()
    # FAQ bests: 0.5, 0.5, 0.5, 0.25, 0.5, 0.5 -> the five 0.5s in FAQ order, then FAQ 3.
    per_faq = ranking.best_per_faq(ranking.phrasing_scores(index.vectors, query[None, :]), index.starts)[0]
    assert per_faq.tolist() == [0.5, 0.5, 0.5, 0.25, 0.5, 0.5]
    for k in range(1, 8):
        expected = [j for j, _ in reference_ranking(index.vectors, counts, query, k)]
        assert ranking.top_k(per_faq, k).tolist() == expected
    engine = engine_for(index, query[None, :])
    assert [m.faq_id for m in engine.answer("query 0", k=3).matches] == ["faq-0", "faq-1", "faq-2"]
    assert [m.faq_id for m in engine.answer("query 0", k=6).matches][-1] == "faq-3"


def test_top_k_edge_cases() -> None:
    scores = np.array([0.1, 0.9, 0.9, -0.2], dtype=np.float32)
    assert ranking.top_k(scores, 0).tolist() == []
    assert ranking.top_k(scores, -1).tolist() == []
    assert ranking.top_k(scores, 2).tolist() == [1, 2]
    assert ranking.top_k(scores, 10).tolist() == [1, 2, 0, 3]
    assert ranking.top_k(np.array([0.3], dtype=np.float32), 3).tolist() == [0]
    assert ranking.top_k(np.full(6, 0.5, dtype=np.float32), 3).tolist() == [0, 1, 2]


def test_best_phrasing_takes_the_first_of_equal_rows() -> None:
    scores = np.array([0.2, 0.7, 0.7, 0.1, 0.4], dtype=np.float32)
    vectors, query = scores[:, np.newaxis], np.ones(1, dtype=np.float32)  # row cosines are exactly ``scores``
    starts, ends = np.array([0, 3]), np.array([3, 5])
    assert ranking.best_phrasing(vectors, starts, ends, 0, query)[0] == 1
    assert ranking.best_phrasing(vectors, starts, ends, 1, query)[0] == 4


def test_an_index_must_group_rows_by_faq() -> None:
    from faq_core.errors import IndexLoadError

    vectors = unit(np.random.default_rng(0).standard_normal((3, DIM)))
    faqs = [FAQ(id="a", question="a?"), FAQ(id="b", question="b?")]
    meta = IndexMeta(model_id="test/model", dim=DIM)
    with pytest.raises(IndexLoadError, match="grouped by FAQ"):
        FAQIndex(faqs, ["x", "y", "z"], vectors, np.array([0, 1, 0]), meta)
    with pytest.raises(IndexLoadError, match="grouped by FAQ"):
        FAQIndex(faqs, ["x", "y", "z"], vectors, np.array([0, 0, 0]), meta)  # FAQ b has no phrasing
    with pytest.raises(IndexLoadError, match="no FAQs"):
        FAQIndex([], [], vectors[:0], np.zeros(0, dtype=np.int64), meta)


@pytest.mark.parametrize("counts", [[1], [3], [1, 1, 1], [2, 5, 1, 5, 2, 7], [4] * 50 + [1, 9]])
def test_segment_sums_equal_a_python_sum_per_faq(counts: list[int]) -> None:
    rng = np.random.default_rng(len(counts))
    rows = rng.standard_normal((sum(counts), 6)).astype(np.float32)
    starts = np.cumsum([0, *counts[:-1]])

    sums = ranking.segment_sums(rows, starts)

    expected = [rows[s : s + c].sum(axis=0) for s, c in zip(starts, counts, strict=True)]
    np.testing.assert_allclose(sums, np.stack(expected), rtol=1e-5, atol=1e-6)
