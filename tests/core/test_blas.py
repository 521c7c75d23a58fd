"""A few questions rank on one BLAS thread (so OpenBLAS's spinning workers do
not take the cores the next embedding needs); large batches keep the pool."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_info

from faq_core import blas
from faq_core.embedders import LocalEmbedder
from faq_core.engine import FAQEngine
from faq_core.index import FAQIndex
from faq_core.scoring import GroupedBlendScorer


def blas_threads() -> list[int]:
    """Threads of numpy's BLAS (torch, once loaded, brings its own, which ranking never uses)."""
    pools = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    return [pool["num_threads"] for pool in pools if "numpy" in pool["filepath"]] or [pools[0]["num_threads"]]


class SpyScorer(GroupedBlendScorer):  # the default scorer, so the stored threshold is its own
    """Records the BLAS thread counts in force while ranking."""

    def __init__(self, index: FAQIndex) -> None:
        super().__init__(index)
        self.seen: list[tuple[int, list[int]]] = []

    def rank_scores(self, queries: np.ndarray) -> np.ndarray:
        self.seen.append((len(queries), blas_threads()))
        return super().rank_scores(queries)


def test_the_limit_applies_inside_and_is_undone_after() -> None:
    before = blas_threads()
    assert before  # numpy's BLAS is visible to threadpoolctl
    with blas.few_queries(1):
        assert blas_threads() == [1] * len(before)
    assert blas_threads() == before
    with blas.few_queries(blas.SINGLE_THREAD_QUERIES + 1):
        assert blas_threads() == before


def test_a_large_index_keeps_the_pool_even_for_one_question() -> None:
    before = blas_threads()
    with blas.few_queries(1, blas.SINGLE_THREAD_MAX_ROWS):
        assert blas_threads() == [1] * len(before)
    with blas.few_queries(1, blas.SINGLE_THREAD_MAX_ROWS + 1):
        assert blas_threads() == before


def test_the_engine_ranks_one_question_on_one_thread_and_a_batch_on_the_pool(
    sample_index: FAQIndex, local_embedder: LocalEmbedder
) -> None:
    before = blas_threads()
    scorer = SpyScorer(sample_index)
    engine = FAQEngine(sample_index, local_embedder, scoring=scorer)
    engine.answer("How do I get a new Medicare card?")
    engine.answer_many([f"question {i} about Medicare" for i in range(40)])
    assert scorer.seen == [(1, [1] * len(before)), (40, before)]
    assert blas_threads() == before
