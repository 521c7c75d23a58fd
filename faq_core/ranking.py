"""Cosine ranking of FAQs, in plain numpy.

Phrasing vectors are unit rows grouped by FAQ (FAQ ``j`` owns rows
``starts[j]:starts[j+1]``), so the cosine of every phrasing is one matrix
product ``E @ q``, an FAQ's score is the max over its rows
(``np.maximum.reduceat``), and the top k come from ``np.argpartition``
followed by a sort of only those k. Ties are broken by FAQ order, so the result
equals a full stable sort.
"""

from __future__ import annotations

import numpy as np

_SUM_CHUNK_ROWS = 65_536  # rows gathered at once by segment_sums


def phrasing_scores(vectors: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Cosine of every query (rows of ``queries``, unit) with every phrasing:
    shape ``(n_queries, n_phrasings)``."""
    return queries @ vectors.T


def best_per_faq(scores: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Each FAQ's best phrasing score: ``(n_queries, n_faqs)`` from
    ``(n_queries, n_phrasings)``. ``starts`` must be increasing and start at 0."""
    return np.maximum.reduceat(scores, starts, axis=1)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest of a 1-D ``scores``, best first, ties by
    lower index first. ``k`` larger than the array returns everything."""
    n = scores.shape[0]
    k = min(k, n)
    if k <= 0:
        return np.zeros(0, dtype=np.intp)
    if k < n:
        # Everything tied with the k-th best must be a candidate, or ties at the
        # boundary would be chosen arbitrarily instead of by index.
        kth = scores[np.argpartition(-scores, k - 1)[k - 1]]
        candidates = np.flatnonzero(scores >= kth)
    else:
        candidates = np.arange(n)
    order = np.lexsort((candidates, -scores[candidates]))
    return candidates[order[:k]]


def best_phrasing(vectors: np.ndarray, starts: np.ndarray, ends: np.ndarray, faq: int,
                  query: np.ndarray) -> tuple[int, float]:
    """Row index and cosine of FAQ ``faq``'s phrasing closest to the unit
    ``query`` (the first of equal rows); only that FAQ's rows are scored."""
    start, end = int(starts[faq]), int(ends[faq])
    cosines = vectors[start:end] @ query
    best = int(np.argmax(cosines))
    return start + best, float(cosines[best])


def segment_sums(rows: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sum of each FAQ's rows: ``(n_faqs, dim)`` from ``(n_rows, dim)`` grouped by FAQ.

    ``np.add.reduceat`` along rows is slow for many short segments (7 s for a
    million rows here); gathering the FAQs that have the same number of rows
    into one ``(faqs, count, dim)`` block and summing it is one pass of
    vectorised work per distinct count, of which real FAQ sets have few.
    """
    n = rows.shape[0]
    counts = np.diff(np.append(starts, n))
    out = np.empty((len(starts), *rows.shape[1:]), dtype=rows.dtype)
    for count in np.unique(counts):
        faqs = np.flatnonzero(counts == count)
        step = max(1, _SUM_CHUNK_ROWS // max(int(count), 1))  # bounds the gathered block's size
        for first in range(0, len(faqs), step):
            part = faqs[first : first + step]
            out[part] = rows[starts[part][:, None] + np.arange(count)].sum(axis=1)
    return out

