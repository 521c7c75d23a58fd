"""How a question is scored against FAQs that have several phrasings.

Two scorers share one interface (:class:`Scorer`):

- :class:`NearestPhrasing` is the plain baseline: an FAQ scores the cosine of
  its most similar phrasing, and that cosine is also the confidence.
- :class:`BlendScorer` (the default) ranks in an adapted space learnt from the
  index's own phrasings, and takes its confidence from plain cosines:

  1. *Centering*: the mean phrasing vector is subtracted from phrasings and
     questions. Sentence embeddings share a large common direction that says
     "this is a banking question" for every FAQ alike; removing it lets the
     directions that tell FAQs apart decide.
  2. *Shrunk within-FAQ whitening* (an LDA-like adapter): the covariance of
     phrasings around their FAQ's mean says which directions vary between
     wordings of the *same* question; those are scaled down. The covariance
     is shrunk toward the identity by ``d / (d + dof)`` (``dof`` = phrasings
     minus FAQs), so with one phrasing per FAQ there is nothing to learn and
     the adapter is the identity.
  3. *Best phrasing + centroid*: an FAQ's ranking score is
     ``alpha * best phrasing + (1 - alpha) * centroid`` cosine in that space.
     The centroid pools all wordings (robust to one odd phrasing); the best
     phrasing keeps narrow wordings reachable.
  4. *Confidence* is ``beta * best-phrasing cosine + (1 - beta) * centroid
     cosine`` of the top-ranked FAQ in the *plain* embedding space: the shared
     direction that centering removes is exactly what tells an off-topic
     question from a covered one, so confidence keeps it.

Everything is a deterministic function of the index's vectors, computed when
the engine is created: nothing extra is stored in the index, so a calibrated
threshold stays valid after save, load or a push to the Hub. The per-question
cost is one matrix product with the adapted phrasing matrix (as the baseline
has with the plain one), one with the FAQ centroids, and plain cosines for only
the k FAQs that are shown. ``SCORING_VERSION`` names the confidence function
so a threshold calibrated for another one is not silently reused.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import numpy as np

from faq_core import ranking

if TYPE_CHECKING:
    from faq_core.index import FAQIndex

SCORING_VERSION = "blend-v1"
NEAREST_VERSION = "nearest-v1"
ALPHA = 0.3  # weight of the best phrasing in the ranking score (rest: centroid)
BETA = 0.5  # weight of the best phrasing in the confidence (rest: centroid)
_EPS = np.float32(1e-12)


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return np.asarray(matrix / np.maximum(norms, _EPS), dtype=np.float32)


def faq_centroids(vectors: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Unit mean of each FAQ's (unit) phrasing vectors: ``(n_faqs, dim)``."""
    return _unit(np.add.reduceat(vectors, starts, axis=0))


def within_faq_whitening(vectors: np.ndarray, owner: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``S^-1/2`` for the within-FAQ covariance ``S`` shrunk toward a scaled
    identity by ``d / (d + dof)``; the identity when no FAQ has two phrasings."""
    n, dim = vectors.shape
    dof = n - len(starts)
    if dof <= 0:
        return np.eye(dim, dtype=np.float32)
    counts = np.diff(np.append(starts, n))
    means = np.add.reduceat(vectors, starts, axis=0) / counts[:, None]
    residual = (vectors - means[owner]).astype(np.float64)
    within = residual.T @ residual / dof
    scale = float(np.trace(within)) / dim
    if not scale > 1e-12:  # every FAQ's phrasings are identical
        return np.eye(dim, dtype=np.float32)
    shrink = dim / (dim + dof)
    covariance = (1 - shrink) * within + shrink * scale * np.eye(dim)
    values, basis = np.linalg.eigh(covariance)
    values = np.maximum(values, scale * 1e-6)
    return np.asarray((basis / np.sqrt(values)) @ basis.T, dtype=np.float32)


class Scorer(ABC):
    """Ranks FAQs for a batch of unit question vectors and says how sure it is."""

    version: str

    @abstractmethod
    def rank_scores(self, queries: np.ndarray) -> np.ndarray:
        """Ranking score of every FAQ for every query: ``(n_queries, n_faqs)``."""

    @abstractmethod
    def confidence(self, query: np.ndarray, rank_scores: np.ndarray, faq: int) -> float:
        """Confidence that FAQ ``faq`` (the top-ranked one) answers ``query``;
        ``rank_scores`` is this query's row of :meth:`rank_scores`."""


class NearestPhrasing(Scorer):
    """The baseline: best phrasing cosine ranks, and is the confidence."""

    version = NEAREST_VERSION

    def __init__(self, index: FAQIndex) -> None:
        self.vectors = index.vectors
        self.starts = index.starts

    def rank_scores(self, queries: np.ndarray) -> np.ndarray:
        return ranking.best_per_faq(ranking.phrasing_scores(self.vectors, queries), self.starts)

    def confidence(self, query: np.ndarray, rank_scores: np.ndarray, faq: int) -> float:
        return float(rank_scores[faq])


class BlendScorer(Scorer):
    """Centered, whitened best-phrasing + centroid ranking; plain-cosine
    best-phrasing + centroid confidence (see the module docstring)."""

    version = SCORING_VERSION

    def __init__(
        self, index: FAQIndex, *, alpha: float = ALPHA, beta: float = BETA, center: bool = True, whiten: bool = True
    ) -> None:
        """``center`` and ``whiten`` switch steps 1 and 2 off for ablations."""
        self.alpha = np.float32(alpha)
        self.beta = beta
        vectors, starts = index.vectors, index.starts
        self.vectors, self.starts, self.ends = vectors, starts, index.ends
        dim = vectors.shape[1]
        self.mean = (vectors.mean(axis=0, dtype=np.float64).astype(np.float32) if center
                     else np.zeros(dim, dtype=np.float32))
        centered = _unit(vectors - self.mean)
        self.whitening = (within_faq_whitening(centered, index.owner, starts) if whiten
                          else np.eye(dim, dtype=np.float32))
        self.adapted = _unit(centered @ self.whitening)
        self.adapted_centroids = faq_centroids(self.adapted, starts)
        self.plain_centroids = faq_centroids(vectors, starts)
        # With one phrasing per FAQ the centroid is that phrasing: skip the second product.
        self.single = bool(np.all(index.ends - starts == 1))

    def adapt(self, queries: np.ndarray) -> np.ndarray:
        """Questions mapped into the ranking space (centered, whitened, unit)."""
        return _unit(_unit(queries - self.mean) @ self.whitening)

    def rank_scores(self, queries: np.ndarray) -> np.ndarray:
        adapted = self.adapt(queries)
        phrasing = ranking.phrasing_scores(self.adapted, adapted)
        best = ranking.best_per_faq(phrasing, self.starts)
        if self.single:
            return best
        centroid = adapted @ self.adapted_centroids.T
        best *= self.alpha
        best += (1 - self.alpha) * centroid
        return best

    def confidence(self, query: np.ndarray, rank_scores: np.ndarray, faq: int) -> float:
        start, end = int(self.starts[faq]), int(self.ends[faq])
        best = float(np.max(self.vectors[start:end] @ query))
        centroid = float(self.plain_centroids[faq] @ query)
        return self.beta * best + (1 - self.beta) * centroid


SCORERS = {"blend": BlendScorer, "nearest": NearestPhrasing}


def make_scorer(index: FAQIndex, name: str = "blend") -> Scorer:
    """The scorer called ``name`` (``blend``, the default, or ``nearest``) for ``index``."""
    try:
        return SCORERS[name](index)
    except KeyError:
        raise ValueError(f"unknown scoring {name!r}; known: {', '.join(SCORERS)}") from None
