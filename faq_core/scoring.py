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
  4. *A linear adapter*: a softmax regression from the adapted phrasings
     to their FAQ, trained when the engine starts (a fixed number of
     full-batch steps from zero, no randomness: the same index gives the same
     model, up to floating-point rounding of the BLAS in use); its
     logits, scaled to unit spread on the phrasings, are added with weight
     ``gamma``. It learns which directions single out each FAQ against all the
     others, which a centroid cannot. Indexes too large to train in a few
     seconds (more than ``ADAPTER_MAX_CELLS`` phrasings x FAQs) skip it, and
     with one phrasing per FAQ there is nothing to learn.
  5. *Confidence* (``blend-v2``) is ``beta * best-phrasing cosine + (1 - beta)
     * centroid cosine`` of the top-ranked FAQ in the *plain* embedding space
     (the shared direction that centering removes is exactly what tells an
     off-topic question from a covered one, so confidence keeps it), times the
     FAQ's softmax share of the ranking scores (``faq_core.confidence``): a
     near-tie with another FAQ lowers it. The same product for every shown FAQ
     is its readable match score.

Everything is a deterministic function of the index's vectors: computed
once (by ``index build``, ``publish`` and ``calibrate``, or for an index
without it when the engine is created) and stored with the index as the part
``blend`` of :mod:`faq_core.index_state` (``SETUP_VERSION`` and the
parameters name it; a stored set-up of another version is recomputed), so
loading maps it instead of computing it, and a calibrated threshold stays
valid after save, load or a push to the Hub. The per-question
cost is one matrix product with the plain phrasing matrix (as the baseline
has; the adapted phrasings are scored through it with one scale per phrasing,
so no second copy of the vectors is kept), one with a per-FAQ matrix
(centroids and adapter folded together), one softmax over the FAQs' scores,
and plain cosines for only the k FAQs that are shown.
``SCORING_VERSION`` names the confidence function so a threshold calibrated
for another one is not silently reused.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np

from faq_core import ranking
from faq_core.confidence import TEMPERATURE, readable_scores, shares
from faq_core.duplicates import DUPLICATE_COSINE, Duplicates, find_duplicates, group_share
from faq_core.embedders.base import normalize_in_place, unit_rows
from faq_core.index import FAQIndex
from faq_core.index_state import Part, register_producer

SCORING_VERSION = "blend-v2"  # names the confidence function (5.), which is what a threshold depends on
GROUPED_VERSION = "blend-v3"  # blend-v2 with near-duplicate FAQs' shares added up (GroupedBlendScorer)
# Softmax temperature of blend-v3 when every FAQ has one phrasing: ranking scores are then plain centered
# cosines, whose gaps are narrower than those of the blend (chosen on dev rows: docs/answer-quality.md).
SINGLE_TEMPERATURE = 0.1
# Names how the set-up (steps 1-4) is computed: change it with the computation, so stored set-ups are redone.
SETUP_VERSION = "blend-setup-1"
SETUP_PART = "blend"
NEAREST_VERSION = "nearest-v1"
ALPHA = 0.3  # weight of the best phrasing in the ranking score (rest: centroid)
BETA = 0.5  # weight of the best phrasing in the confidence (rest: centroid)
GAMMA = 0.2  # weight of the adapter's (unit-spread) logits in the ranking score
ADAPTER_L2 = 1e-4
ADAPTER_STEPS = 100
ADAPTER_RATE = 20.0
# Training costs ~2 microseconds per phrasing x FAQ on two cores (4 s at the cap);
# larger indexes rank without the adapter (steps 1-3 and 5 are unaffected).
ADAPTER_MAX_CELLS = 2_000_000
_COVARIANCE_CHUNK = 65_536
_SETUP_CHUNK = 65_536  # rows per step of centering and adapting: bounds set-up's temporaries


def faq_centroids(vectors: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Unit mean of each FAQ's (unit) phrasing vectors: ``(n_faqs, dim)``."""
    return normalize_in_place(ranking.segment_sums(vectors, starts))


def chunked_segment_sums(
    n_rows: int, owner: np.ndarray, n_faqs: int, dim: int, rows_of: Callable[[slice], np.ndarray],
) -> np.ndarray:
    """Sum of each FAQ's rows, the rows made ``_SETUP_CHUNK`` at a time by
    ``rows_of(slice)``: ``(n_faqs, dim)`` without ever holding all the rows
    (an FAQ cut by a chunk boundary gets both parts)."""
    out = np.zeros((n_faqs, dim), dtype=np.float32)
    for first in range(0, n_rows, _SETUP_CHUNK):
        rows = slice(first, min(first + _SETUP_CHUNK, n_rows))
        owners = owner[rows]
        local = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        out[owners[local]] += ranking.segment_sums(rows_of(rows), local)
    return out


def within_faq_whitening(
    vectors: np.ndarray, owner: np.ndarray, starts: np.ndarray,
    rows_of: Callable[[slice], np.ndarray] | None = None,
) -> np.ndarray:
    """``S^-1/2`` for the within-FAQ covariance ``S`` shrunk toward a scaled
    identity by ``d / (d + dof)``; the identity when no FAQ has two phrasings.
    ``rows_of`` maps a slice of ``vectors`` to the rows to use (e.g. centered
    ones), made a chunk at a time so no transformed copy of the matrix exists."""
    n, dim = vectors.shape
    dof = n - len(starts)
    if dof <= 0:
        return np.eye(dim, dtype=np.float32)
    made = rows_of if rows_of is not None else vectors.__getitem__
    counts = np.diff(np.append(starts, n))
    means = chunked_segment_sums(n, owner, len(starts), dim, made)
    means /= counts[:, None].astype(np.float32)
    # Accumulated chunk by chunk (float32 products, float64 sum): a million
    # phrasings never need a float64 copy of the whole matrix. (Two passes:
    # the one-pass form sum u u^T - sum_f s_f s_f^T / n_f loses the small
    # within-FAQ variance to cancellation.)
    within = np.zeros((dim, dim), dtype=np.float64)
    for start in range(0, n, _COVARIANCE_CHUNK):
        rows = slice(start, start + _COVARIANCE_CHUNK)
        residual = made(rows) - means[owner[rows]]
        within += residual.T @ residual
    within /= dof
    scale = float(np.trace(within)) / dim
    if not scale > 1e-12:  # every FAQ's phrasings are identical
        return np.eye(dim, dtype=np.float32)
    shrink = dim / (dim + dof)
    covariance = (1 - shrink) * within + shrink * scale * np.eye(dim)
    values, basis = np.linalg.eigh(covariance)
    values = np.maximum(values, scale * 1e-6)
    return np.asarray((basis / np.sqrt(values)) @ basis.T, dtype=np.float32)


def train_adapter(
    features: np.ndarray, owner: np.ndarray, n_faqs: int, *,
    l2: float = ADAPTER_L2, steps: int = ADAPTER_STEPS, rate: float = ADAPTER_RATE,
) -> tuple[np.ndarray, np.ndarray]:
    """Softmax regression ``features -> owner`` (weights ``(n_faqs, dim)``,
    biases ``(n_faqs,)``): full-batch gradient descent with Nesterov momentum
    from zero, L2-penalised, a fixed number of steps (deterministic, bounded)."""
    n, dim = features.shape
    weights = np.zeros((n_faqs, dim), dtype=np.float32)
    bias = np.zeros(n_faqs, dtype=np.float32)
    velocity_w = np.zeros_like(weights)
    velocity_b = np.zeros_like(bias)
    rows = np.arange(n)
    for _ in range(steps):
        ahead_w = weights + 0.9 * velocity_w
        ahead_b = bias + 0.9 * velocity_b
        probs = features @ ahead_w.T + ahead_b
        probs -= probs.max(axis=1, keepdims=True)
        np.exp(probs, out=probs)
        probs /= probs.sum(axis=1, keepdims=True)
        probs[rows, owner] -= 1  # gradient of the cross-entropy with respect to the logits
        probs /= n
        velocity_w = 0.9 * velocity_w - rate * (probs.T @ features + l2 * ahead_w)
        velocity_b = 0.9 * velocity_b - rate * probs.sum(axis=0)
        weights += velocity_w
        bias += velocity_b
    return weights, bias


class Scorer(ABC):
    """Ranks FAQs for a batch of unit question vectors and says how sure it is."""

    version: str
    # True when match scores are shares of one confidence (they add up to at
    # most it), so two near-tied FAQs may together reach the threshold.
    shares_scores = False
    # What the automatic threshold leaves out per sampled phrasing (left_out): its "faq" or its "group".
    leaves_out = "faq"
    # Near-duplicate FAQs found in the index (faq_core.duplicates), if this scorer looks for them.
    duplicates: Duplicates | None = None

    @abstractmethod
    def rank_scores(self, queries: np.ndarray) -> np.ndarray:
        """Ranking score of every FAQ for every query: ``(n_queries, n_faqs)``."""

    @abstractmethod
    def confidence(self, query: np.ndarray, rank_scores: np.ndarray, faq: int) -> float:
        """Confidence that FAQ ``faq`` (the top-ranked one) answers ``query``;
        ``rank_scores`` is this query's row of :meth:`rank_scores`."""

    def match_scores(self, query: np.ndarray, rank_scores: np.ndarray, top: np.ndarray) -> np.ndarray:
        """Readable scores (0..1) of the FAQs ``top``, best first: ordered like
        the ranking, the first one being the confidence. By default the
        ranking scores themselves, clipped to 0..1."""
        return np.clip(rank_scores[top], 0.0, 1.0)

    def left_out(self, faq: int) -> np.ndarray | int:
        """The FAQs to leave out when FAQ ``faq``'s phrasings play a question
        whose FAQ is missing (the automatic threshold): the FAQ itself."""
        return faq


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
        self, index: FAQIndex, *, alpha: float = ALPHA, beta: float = BETA, gamma: float = GAMMA,
        center: bool = True, whiten: bool = True, temperature: float = TEMPERATURE,
    ) -> None:
        """``center`` and ``whiten`` switch steps 1 and 2 off, ``gamma=0`` the adapter (for ablations);
        ``temperature=0`` drops the ranking share from the confidence (the blend-v1 confidence)."""
        self.alpha = np.float32(alpha)
        self.beta = beta
        self.temperature = temperature
        self.shares_scores = temperature > 0
        vectors, starts = index.vectors, index.starts
        self.vectors, self.starts, self.ends = vectors, starts, index.ends
        setup = _setup_version(alpha, gamma, center, whiten)
        stored = index.derived.get(SETUP_PART, setup)
        if stored is not None and self._restore(stored, len(vectors), len(starts), vectors.shape[1]):
            return
        self._set_up(index, gamma, center, whiten)
        if setup == _setup_version(ALPHA, GAMMA, True, True):  # the default set-up: what an index stores
            index.derived.put(SETUP_PART, self._setup_part(setup))
            index.derived.note_computed("the blend scorer's set-up", index.location)

    _ARRAYS = ("mean", "whitening", "inv_norms", "plain_centroids", "linear", "bias")

    def _setup_part(self, version: str) -> Part:
        """The set-up as a part of the index's derived state (references, no copies)."""
        return Part(version, {name: getattr(self, name) for name in self._ARRAYS},
                    {"single": self.single, "adapter_trained": self.adapter_trained})

    def _restore(self, part: Part, n: int, n_faqs: int, dim: int) -> bool:
        """Take the set-up from a stored part; False (compute it) if its shapes do not fit the index."""
        arrays = part.arrays
        expected = {"mean": (dim,), "whitening": (dim, dim), "inv_norms": (n,), "plain_centroids": (n_faqs, dim),
                    "linear": (n_faqs, dim), "bias": (n_faqs,)}
        if any(name not in arrays or arrays[name].shape != shape or arrays[name].dtype != np.float32
               for name, shape in expected.items()):
            return False
        for name in self._ARRAYS:
            setattr(self, name, arrays[name])
        self.single = bool(part.values.get("single", False))
        self.adapter_trained = bool(part.values.get("adapter_trained", False))
        return True

    def _set_up(self, index: FAQIndex, gamma: float, center: bool, whiten: bool) -> None:
        """Compute steps 1-4 from the index's vectors."""
        vectors, starts = index.vectors, index.starts
        dim = vectors.shape[1]
        self.mean = (vectors.mean(axis=0, dtype=np.float64).astype(np.float32) if center
                     else np.zeros(dim, dtype=np.float32))
        # Set-up makes the centered and adapted rows a chunk at a time
        # (_SETUP_CHUNK rows) and keeps only per-FAQ sums of them: no (n, dim)
        # temporary, so its peak is the per-FAQ matrices plus one chunk.
        # Ranking scores adapted phrasings through the plain matrix (see
        # rank_scores): the engine keeps one scale per phrasing, not a copy.
        n, n_faqs = len(vectors), len(starts)
        self.whitening = (within_faq_whitening(vectors, index.owner, starts, self._centered_units) if whiten
                          else np.eye(dim, dtype=np.float32))
        # inv_norms[r] = 1 / |(v_r - mean) @ W|, so that adapted_r = (v_r - mean) @ W * inv_norms[r].
        self.inv_norms = np.empty(n, dtype=np.float32)
        sums = chunked_segment_sums(n, index.owner, n_faqs, dim, self._adapted_rows)
        self.plain_centroids = faq_centroids(vectors, starts)
        # With one phrasing per FAQ the centroid is that phrasing and the adapter
        # has nothing to learn: rank by the best phrasing alone, one product.
        self.single = bool(np.all(index.ends - starts == 1))
        self.adapter_trained = False
        # The per-FAQ linear part of the score: (1 - alpha) * centroid (+ gamma * adapter), as one matrix.
        self.linear = normalize_in_place(sums)
        self.linear *= 1 - self.alpha
        self.bias = np.zeros(n_faqs, dtype=np.float32)
        if not self.single and gamma > 0 and n * n_faqs <= ADAPTER_MAX_CELLS:
            # Small enough to train on: here the adapted rows are held whole.
            adapted = np.empty_like(vectors, dtype=np.float32)
            for first in range(0, n, _SETUP_CHUNK):
                rows = slice(first, first + _SETUP_CHUNK)
                adapted[rows] = unit_rows(self._centered_units(rows) @ self.whitening)
            weights, bias = train_adapter(adapted, index.owner, n_faqs)
            spread = float(np.std(adapted @ weights.T + bias))
            if spread > 1e-12:
                weight = np.float32(gamma / spread)
                self.linear = (self.linear + weight * weights).astype(np.float32)
                self.bias = (weight * bias).astype(np.float32)
                self.adapter_trained = True
            del adapted

    def _centered_units(self, rows: slice) -> np.ndarray:
        """Rows ``rows`` of the index centered and scaled to unit length (a new chunk)."""
        return normalize_in_place(self.vectors[rows] - self.mean)

    def _adapted_rows(self, rows: slice) -> np.ndarray:
        """Rows ``rows`` in the ranking space (a new chunk); records their
        ``inv_norms`` on the way (set-up calls it once per chunk, in order)."""
        centered = self.vectors[rows] - self.mean
        centered_norms = np.sqrt(np.einsum("ij,ij->i", centered, centered))
        centered /= np.maximum(centered_norms, np.float32(1e-12))[:, np.newaxis]  # as normalize_in_place
        adapted = centered @ self.whitening
        norms = np.sqrt(np.einsum("ij,ij->i", adapted, adapted))
        scale = np.where(norms > 1e-12, 1 / np.maximum(norms, np.float32(1e-12)), 0).astype(np.float32)
        adapted *= scale[:, np.newaxis]
        self.inv_norms[rows] = np.where((norms > 1e-12) & (centered_norms > 1e-12),
                                        scale / np.maximum(centered_norms, np.float32(1e-12)), 0)
        return adapted

    def adapt(self, queries: np.ndarray) -> np.ndarray:
        """Questions mapped into the ranking space (centered, whitened, unit)."""
        return unit_rows(unit_rows(queries - self.mean) @ self.whitening)

    def adapted_phrasings(self) -> np.ndarray:
        """The phrasings in the ranking space, ``(n, dim)`` unit rows, computed
        on demand (ranking does not keep them; for tests and experiments)."""
        return unit_rows(unit_rows(self.vectors - self.mean) @ self.whitening)

    def rank_scores(self, queries: np.ndarray) -> np.ndarray:
        adapted = self.adapt(queries)
        # adapted . adapted_r = ((v_r - mean) . probe) * inv_norms[r] with probe = adapted @ W.T:
        # one product with the plain matrix, then an O(n) correction.
        probe = adapted @ self.whitening.T
        phrasing = ranking.phrasing_scores(self.vectors, probe)
        phrasing -= (probe @ self.mean)[:, np.newaxis]
        phrasing *= self.inv_norms
        best = ranking.best_per_faq(phrasing, self.starts)
        if self.single:
            return best
        best *= self.alpha
        best += adapted @ self.linear.T
        best += self.bias
        return best

    def plain_confidence(self, query: np.ndarray, faq: int) -> float:
        """How close ``query`` is to FAQ ``faq`` in the plain space (step 5)."""
        _, best = ranking.best_phrasing(self.vectors, self.starts, self.ends, faq, query)
        centroid = float(self.plain_centroids[faq] @ query)
        return self.beta * best + (1 - self.beta) * centroid

    def match_scores(self, query: np.ndarray, rank_scores: np.ndarray, top: np.ndarray) -> np.ndarray:
        """Plain confidence of the top FAQ x each FAQ's softmax share (``faq_core.confidence``)."""
        plain = self.plain_confidence(query, int(top[0]))
        if self.temperature <= 0:  # ablation: the plain confidence alone, others scaled like the ranking
            return readable_scores(plain, np.ones(len(top)))
        return readable_scores(plain, shares(rank_scores, top, self.temperature))

    def confidence(self, query: np.ndarray, rank_scores: np.ndarray, faq: int) -> float:
        top = np.array([faq])
        return float(self.match_scores(query, rank_scores, top)[0])


class GroupedBlendScorer(BlendScorer):
    """The blend scorer with near-duplicate FAQs (``faq_core.duplicates``)
    treated as one: the top FAQ's confidence is the plain confidence times the
    softmax share of its whole group, so twins that both answer a question add
    up instead of splitting; and the automatic threshold leaves a whole group
    out, not one twin. Ranking is the blend scorer's; with one phrasing per
    FAQ the softmax is sharper (``SINGLE_TEMPERATURE``) unless a temperature is given."""

    version = GROUPED_VERSION
    leaves_out = "group"

    def __init__(self, index: FAQIndex, *, duplicate_cosine: float = DUPLICATE_COSINE,
                 temperature: float | None = None, **options: float) -> None:
        super().__init__(index, **options)  # type: ignore[arg-type]
        if temperature is None:
            temperature = SINGLE_TEMPERATURE if self.single else TEMPERATURE
        self.temperature = temperature
        self.shares_scores = temperature > 0
        self.duplicates = find_duplicates(index, duplicate_cosine)

    def match_scores(self, query: np.ndarray, rank_scores: np.ndarray, top: np.ndarray) -> np.ndarray:
        """As the blend scorer's, the top FAQ's share being its group's."""
        scores = super().match_scores(query, rank_scores, top)
        assert self.duplicates is not None
        if self.temperature > 0 and self.duplicates.groups:
            plain = self.plain_confidence(query, int(top[0]))
            scores[0] = max(plain, 0.0) * group_share(rank_scores, self.duplicates.group_of, int(top[0]),
                                                     self.temperature)
        return scores

    def left_out(self, faq: int) -> np.ndarray | int:
        assert self.duplicates is not None
        return self.duplicates.members(faq)


def _setup_version(alpha: float, gamma: float, center: bool, whiten: bool) -> str:
    """What names a blend set-up: the computation's version and the parameters it depends on."""
    return (f"{SETUP_VERSION};alpha={float(alpha)!r};gamma={float(gamma)!r};center={center};whiten={whiten};"
            f"adapter={ADAPTER_L2!r},{ADAPTER_STEPS},{ADAPTER_RATE!r},{ADAPTER_MAX_CELLS}")


def _store_blend_setup(index: FAQIndex) -> None:
    BlendScorer(index)  # puts its set-up on the index


register_producer(SETUP_PART, _store_blend_setup)

SCORERS = {"blend": BlendScorer, "nearest": NearestPhrasing}


def built_for_v2(index: FAQIndex) -> bool:
    """True for an index whose stored threshold (automatic or calibrated) is
    for ``blend-v2`` confidences: built before near-duplicates were grouped,
    it keeps the scorer its threshold was made for."""
    stored = [index.meta.auto_threshold, index.meta.calibration]
    return any(isinstance(d, dict) and d.get("scoring") == SCORING_VERSION for d in stored)


def default_version(index: FAQIndex) -> str:
    """The confidence version the default scorer computes for ``index``."""
    return SCORING_VERSION if built_for_v2(index) else GROUPED_VERSION


def make_scorer(index: FAQIndex, name: str = "blend") -> Scorer:
    """The scorer called ``name`` (``blend``, the default, or ``nearest``) for
    ``index``. ``blend`` is the grouped blend scorer (``blend-v3``), except for
    an index whose threshold was made for ``blend-v2``, which keeps that one."""
    if name == "blend" and not built_for_v2(index):
        return GroupedBlendScorer(index)
    try:
        return SCORERS[name](index)
    except KeyError:
        raise ValueError(f"unknown scoring {name!r}; known: {', '.join(SCORERS)}") from None
