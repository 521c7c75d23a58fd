"""Grouping similar questions by their unit vectors, in bounded memory.

:func:`cluster_vectors` is a greedy "community" clustering (as
sentence-transformers' ``util.community_detection``): every vector's nearest
neighbours are found with chunked matrix products (memory ``chunk x n`` at a
time and ``n x neighbours`` kept, never ``n x n``); the vector with the most
neighbours above ``threshold`` founds a cluster of its still-free neighbours,
then the next, until every vector belongs somewhere (alone, if nothing is
near it). One pass then moves each vector to its nearest cluster centroid when
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
NEIGHBOURS = 96
# Floats of one similarity block (chunk x n): about 64 MB.
BLOCK_FLOATS = 16_000_000


def _rows_per_block(n: int) -> int:
    return max(1, min(n, BLOCK_FLOATS // max(n, 1)))


def nearest_neighbours(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, similarities), each ``(n, k)``, of every row's ``k`` most
    similar rows (itself included), most similar first."""
    n = len(vectors)
    k = max(1, min(k, n))
    indices = np.empty((n, k), dtype=np.int64)
    similarities = np.empty((n, k), dtype=np.float32)
    step = _rows_per_block(n)
    for start in range(0, n, step):
        block = vectors[start:start + step] @ vectors.T
        if k < n:
            part = np.argpartition(-block, k - 1, axis=1)[:, :k]
        else:
            part = np.broadcast_to(np.arange(n), block.shape).copy()
        values = np.take_along_axis(block, part, axis=1)
        order = np.argsort(-values, axis=1, kind="stable")
        indices[start:start + step] = np.take_along_axis(part, order, axis=1)
        similarities[start:start + step] = np.take_along_axis(values, order, axis=1)
    return indices, similarities


def centroids_of(vectors: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """The unit mean vector of each of ``count`` clusters."""
    sums = np.zeros((count, vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, vectors)
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
                    neighbours: int = NEIGHBOURS, weights: np.ndarray | None = None) -> np.ndarray:
    """A cluster label (0..m-1) for each unit row of ``vectors``. ``weights``
    (e.g. how often each text was asked) make a vector count as that many
    neighbours when choosing founders."""
    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    indices, similarities = nearest_neighbours(vectors, neighbours)
    near = similarities >= threshold
    weight = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    strength = (near * weight[indices]).sum(axis=1) + similarities.clip(0).sum(axis=1) * 1e-6
    labels = np.full(n, -1, dtype=np.int64)
    count = 0
    for founder in np.argsort(-strength, kind="stable"):
        if labels[founder] >= 0:
            continue
        members = indices[founder][near[founder]]
        members = members[labels[members] < 0]
        labels[founder] = count
        labels[members] = count
        count += 1
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
