"""Grouping similar questions by their unit vectors, in bounded memory.

:func:`cluster_vectors` is a greedy "community" clustering (as
sentence-transformers' ``util.community_detection``, without its cap on a
community's size): the vector with the most (weighted) neighbours above
``threshold`` founds a cluster of its still-free neighbours, then the next,
until every vector belongs somewhere (alone, if nothing is near it). All
similarities come from chunked matrix products (``chunk x n`` floats at a
time, never ``n x n``): one pass counts neighbours, and founders are scored
against everything a block at a time. One pass then moves each vector to its nearest cluster centroid when
that is closer, which undoes the early founders' greed, and the members of
clusters smaller than ``min_size`` join the nearest larger cluster whose
centroid reaches ``attach``. Deterministic: the same vectors give the same
clusters.
"""

from __future__ import annotations

import numpy as np

# The similarity two questions need to be "the same question" for the local
# all-MiniLM-L6-v2 (chosen on CLINC150 intents *not* used to report results:
# bench/review_loop.py prints the sweep).
DEFAULT_THRESHOLD = 0.5
# A question left in a cluster smaller than MIN_SIZE joins the nearest larger
# cluster when its centroid is at least this similar (a looser bar: one odd
# phrasing of a common question should count with it, not stand alone).
ATTACH_THRESHOLD = 0.4
MIN_SIZE = 3
# Rows the founders' ordering is estimated on, past which it is sampled.
STRENGTH_SAMPLE = 4096
# Floats of one similarity block (chunk x n): about 64 MB.
BLOCK_FLOATS = 16_000_000


def _rows_per_block(n: int) -> int:
    return max(1, min(n, BLOCK_FLOATS // max(n, 1)))


def neighbour_strength(vectors: np.ndarray, threshold: float, weights: np.ndarray,
                       sample: int | None = None) -> np.ndarray:
    """For each row, the total weight of the rows at least ``threshold``
    similar to it (itself included): one chunked pass of matrix products.
    Past ``sample`` rows (default :data:`STRENGTH_SAMPLE`) it is estimated
    against a fixed, seeded sample of that many rows: it only orders the
    founders, and the founding pass itself is exact."""
    n = len(vectors)
    sample = STRENGTH_SAMPLE if sample is None else sample
    columns = (np.sort(np.random.default_rng(0).choice(n, size=sample, replace=False))
               if n > sample else np.arange(n))
    others = np.ascontiguousarray(vectors[columns])
    w = weights[columns].astype(np.float32)
    strength = np.zeros(n, dtype=np.float64)
    step = _rows_per_block(len(columns))
    for start in range(0, n, step):
        block = vectors[start:start + step] @ others.T
        strength[start:start + step] = (block >= threshold).astype(np.float32) @ w
    return strength


def _found(vectors: np.ndarray, order: np.ndarray, threshold: float) -> tuple[np.ndarray, int]:
    """The greedy pass: in ``order``, each row not yet taken founds a cluster
    of itself and every free row at least ``threshold`` similar. Candidate
    founders are scored against all rows a block at a time (never n x n)."""
    n = len(vectors)
    labels = np.full(n, -1, dtype=np.int64)
    count = 0
    step = _rows_per_block(n)
    position = 0
    while position < n:
        candidates: list[int] = []
        while position < n and len(candidates) < step:
            if labels[order[position]] < 0:
                candidates.append(int(order[position]))
            position += 1
        if not candidates:
            break
        near = (vectors[candidates] @ vectors.T) >= threshold
        for row, founder in enumerate(candidates):
            if labels[founder] >= 0:
                continue  # taken by a founder earlier in this block
            members = np.flatnonzero(near[row] & (labels < 0))
            labels[members] = count
            labels[founder] = count
            count += 1
    return labels, count


def centroids_of(vectors: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """The unit mean vector of each of ``count`` clusters."""
    sums = np.empty((count, vectors.shape[1]), dtype=np.float64)
    for dim in range(vectors.shape[1]):  # one bincount per dimension: far faster than np.add.at
        sums[:, dim] = np.bincount(labels, weights=vectors[:, dim], minlength=count)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return (sums / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def _nearest_centroid(vectors: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index, similarity) of each vector's most similar centroid, chunked."""
    best = np.zeros(len(vectors), dtype=np.int64)
    top = np.full(len(vectors), -np.inf, dtype=np.float32)
    if len(centroids) == 0:
        return best, top
    step = _rows_per_block(len(centroids))
    for start in range(0, len(vectors), step):
        scores = vectors[start:start + step] @ centroids.T
        best[start:start + step] = scores.argmax(axis=1)
        top[start:start + step] = scores.max(axis=1)
    return best, top


def cluster_vectors(vectors: np.ndarray, *, threshold: float = DEFAULT_THRESHOLD,
                    attach: float = ATTACH_THRESHOLD, min_size: int = MIN_SIZE,
                    weights: np.ndarray | None = None) -> np.ndarray:
    """A cluster label (0..m-1) for each unit row of ``vectors``. ``weights``
    (e.g. how often each text was asked) make a vector count as that many
    neighbours when choosing founders."""
    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    weight = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    strength = neighbour_strength(vectors, threshold, weight)
    labels, count = _found(vectors, np.argsort(-strength, kind="stable"), threshold)
    # one refinement pass: each vector to its most similar centroid, if that beats its own
    centroids = centroids_of(vectors, labels, count)
    best, top = _nearest_centroid(vectors, centroids)
    own = np.einsum("ij,ij->i", vectors, centroids[labels])
    labels = np.where((top > own) & (top >= threshold), best, labels)
    # the members of small clusters join the nearest large one, if near enough
    sizes = np.bincount(labels, weights=weight, minlength=count)
    large = np.flatnonzero(sizes >= min_size)
    if len(large):
        best, top = _nearest_centroid(vectors, centroids_of(vectors, labels, count)[large])
        labels = np.where((sizes[labels] < min_size) & (top >= attach), large[best], labels)
    # renumber densely, in order of first appearance
    used, first = np.unique(labels, return_index=True)
    mapping = np.empty(int(labels.max()) + 1, dtype=np.int64)
    mapping[used[np.argsort(first)]] = np.arange(len(used))
    return mapping[labels]
