"""The blend scorer's set-up works chunk by chunk: the same result whatever
the chunk size, and a peak of allocations bounded by less than one more
copy of the index (numpy reports its buffers to tracemalloc, so this is exact, not
timed), after which the scorer keeps no second copy of the vectors."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import faq_core.ranking as ranking
import faq_core.scoring as scoring
from faq_core.faqs import FAQ
from faq_core.index import FAQIndex, IndexMeta


def clustered_index(n_faqs: int, dim: int = 384, seed: int = 3) -> FAQIndex:
    """FAQs with 1 to 15 phrasings each around their own centre (varied group sizes)."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 16, size=n_faqs)
    centres = rng.standard_normal((n_faqs, dim)).astype(np.float32)
    owner = np.repeat(np.arange(n_faqs), counts)
    vectors = centres[owner] + 0.5 * rng.standard_normal((len(owner), dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    faqs = [FAQ(f"f{i}", f"q{i}", alternates=tuple(f"q{i}.{j}" for j in range(c - 1)))
            for i, c in enumerate(counts)]
    texts = [t for f in faqs for t in f.phrasings]
    return FAQIndex(faqs, texts, vectors, owner, IndexMeta(model_id="test/model", dim=dim))


def test_chunked_set_up_equals_the_one_shot_one(monkeypatch: pytest.MonkeyPatch) -> None:
    index = clustered_index(300, dim=32)
    whole = scoring.BlendScorer(index, gamma=0)
    monkeypatch.setattr(scoring, "_SETUP_CHUNK", 7)
    monkeypatch.setattr(scoring, "_COVARIANCE_CHUNK", 11)
    monkeypatch.setattr(ranking, "_SUM_CHUNK_ROWS", 5)
    chunked = scoring.BlendScorer(index, gamma=0)
    np.testing.assert_allclose(chunked.inv_norms, whole.inv_norms, rtol=1e-5)
    np.testing.assert_allclose(chunked.whitening, whole.whitening, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(chunked.linear, whole.linear, atol=2e-6)
    queries = index.vectors[::17] + 0.1
    np.testing.assert_allclose(chunked.rank_scores(queries), whole.rank_scores(queries), atol=1e-5)


def test_set_up_peaks_at_about_one_more_copy_of_the_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scoring, "_SETUP_CHUNK", 4096)
    monkeypatch.setattr(scoring, "_COVARIANCE_CHUNK", 4096)
    monkeypatch.setattr(ranking, "_SUM_CHUNK_ROWS", 4096)
    index = clustered_index(5_000)  # ~40,000 phrasings, 61 MB of vectors
    size = index.vectors.nbytes
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        scorer = scoring.BlendScorer(index, gamma=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Per-FAQ matrices and a few chunks, no (n, dim) buffer; the one-shot set-up peaked near 3x,
    # the first chunked one (one full buffer) 1.48x here; now about 0.5x (target: <= 1x).
    assert peak - before < 0.75 * size, f"set-up peaked at {(peak - before) / size:.2f}x the index"
    # What stays: one float32 per phrasing and the per-FAQ matrices, no second copy of the vectors.
    kept = sum(value.nbytes for value in vars(scorer).values()
               if isinstance(value, np.ndarray) and value is not index.vectors and value.base is None)
    assert kept < 0.35 * size, f"the scorer keeps {kept / size:.2f}x the index"
