"""Near-duplicate FAQs ("twins"): found from the index's own vectors, told to
the owner, and treated as one where confidence is concerned.

A team that pastes its FAQ page often has two or three entries asking almost
the same question ("How do I reset my password?", "I forgot my password").
Such twins are a problem for an FAQ bot in two ways:

- the softmax share of the top FAQ (``faq_core.confidence``) is split between
  the twins even when either is a right answer, so a right answer looks unsure;
- leave-one-FAQ-out (``faq_core.threshold``) assumes a left-out FAQ's question
  has no answer left, but its twin answers it confidently, which pushes the
  automatic threshold up.

:func:`find_duplicates` groups two FAQs when the mean *centered* cosine
between a phrasing of one and a phrasing of the other reaches
``DUPLICATE_COSINE``. Centered: the mean phrasing vector is removed first, as
the blend scorer's ranking does, because every FAQ of one product shares a
large common direction that says nothing about which question it answers.
The mean over phrasing pairs (the dot product of the FAQs' mean centered unit
phrasings, not of renormalised centroids) is what a question worded like one
of them sees: with one phrasing per FAQ it is the centered cosine of the two
questions, and FAQs with many phrasings do not look closer for being averaged. Pairs are joined into groups (connected
components), so "these 3 FAQs answer almost the same question" is one group.
The cost is one (FAQs x FAQs) product in chunks (about 1 s at 10,000 FAQs,
3 s at 20,000); indexes with more than ``MAX_FAQS`` FAQs are not searched.
The groups at ``DUPLICATE_COSINE`` are part of the index's stored state
(``state/``, :mod:`faq_core.index_state`): found once when the index is saved,
read when it loads, so a start or a reload does not search again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faq_core.embedders.base import normalize_in_place
from faq_core.index import FAQIndex
from faq_core.index_state import Part, register_producer

DUPLICATE_COSINE = 0.65  # mean centered cosine between two FAQs' phrasings (chosen on dev rows)
MAX_FAQS = 20_000
_CHUNK_CELLS = 4_000_000  # FAQ pairs scored at once (16 MB of float32)
_CHUNK_ROWS = 65_536  # phrasings centered at once
DUPLICATES_PART = "duplicates"  # the groups, in the index's stored state
DUPLICATES_VERSION = "duplicates-1"  # names how the groups are found: change it with the search


@dataclass(frozen=True)
class Duplicates:
    """FAQ positions grouped into near-duplicate sets.

    ``group_of[f]`` is the group number of FAQ ``f`` (FAQs with no twin have a
    group of their own); ``groups`` lists the groups of two or more FAQs,
    largest first; ``similarity`` holds, for each of those, the lowest centered
    cosine along the pairs that joined it."""

    group_of: np.ndarray
    groups: tuple[tuple[int, ...], ...]
    threshold: float
    searched: bool = True

    def members(self, faq: int) -> np.ndarray:
        """Positions of the FAQs in ``faq``'s group (``faq`` itself included)."""
        return np.flatnonzero(self.group_of == self.group_of[faq])

    @property
    def twin_count(self) -> int:
        """FAQs that have at least one near-duplicate."""
        return sum(len(g) for g in self.groups)


def no_duplicates(n_faqs: int, threshold: float = DUPLICATE_COSINE, *, searched: bool = True) -> Duplicates:
    """Every FAQ in a group of its own."""
    return Duplicates(np.arange(n_faqs), (), threshold, searched)


def centered_means(index: FAQIndex) -> np.ndarray:
    """Each FAQ's mean of its centered unit phrasings (the mean phrasing vector
    removed, each row renormalised): ``m_a . m_b`` is the mean centered cosine
    between the two FAQs' phrasings."""
    mean = index.vectors.mean(axis=0, dtype=np.float64).astype(np.float32)
    sums = np.zeros((len(index.starts), index.vectors.shape[1]), dtype=np.float32)
    for first in range(0, len(index.vectors), _CHUNK_ROWS):  # no centered copy of the whole matrix
        rows = slice(first, first + _CHUNK_ROWS)
        np.add.at(sums, index.owner[rows], normalize_in_place(index.vectors[rows] - mean))
    counts = np.diff(np.append(index.starts, len(index.vectors))).astype(np.float32)
    return sums / counts[:, np.newaxis]


def find_duplicates(index: FAQIndex, threshold: float = DUPLICATE_COSINE) -> Duplicates:
    """Group the FAQs of ``index`` whose mean centered phrasing cosine reaches
    ``threshold``: from the index's stored state when it holds them, else
    searched (and, at the default threshold, kept with the index to be saved)."""
    version = f"{DUPLICATES_VERSION};threshold={float(threshold)!r}"
    stored = index.derived.get(DUPLICATES_PART, version)
    if stored is not None and stored.arrays.get("group_of", np.empty(0)).shape == (len(index.starts),):
        return _grouped(np.asarray(stored.arrays["group_of"]), threshold, bool(stored.values.get("searched")))
    found = _search(index, threshold)
    if threshold == DUPLICATE_COSINE:
        index.derived.put(DUPLICATES_PART, Part(version, {"group_of": found.group_of.astype(np.int64)},
                                                {"searched": found.searched}))
    return found


def _search(index: FAQIndex, threshold: float) -> Duplicates:
    """:func:`find_duplicates`'s search: the (FAQs x FAQs) product, pairs joined into groups."""
    n = len(index.starts)
    if n < 3 or n > MAX_FAQS:  # with two FAQs centering leaves two opposite vectors: nothing to compare
        return no_duplicates(n, threshold, searched=n < 3)
    means = centered_means(index)
    parent = np.arange(n)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    step = max(1, _CHUNK_CELLS // n)
    for first in range(0, n, step):
        block = means[first : first + step] @ means.T
        rows, cols = np.nonzero(block >= threshold)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            a, b = root(first + r), root(c)
            if a != b:
                parent[max(a, b)] = min(a, b)
    _, group_of = np.unique(np.array([root(i) for i in range(n)]), return_inverse=True)
    return _grouped(group_of, threshold, searched=True)


def _grouped(group_of: np.ndarray, threshold: float, searched: bool) -> Duplicates:
    """The :class:`Duplicates` of a group number per FAQ (the groups of two or more, largest first)."""
    counts = np.bincount(group_of)
    groups = sorted((tuple(np.flatnonzero(group_of == g).tolist()) for g in np.flatnonzero(counts > 1)),
                    key=lambda g: (-len(g), g))
    return Duplicates(group_of, tuple(groups), threshold, searched)


def group_share(rank_scores: np.ndarray, group_of: np.ndarray, faq: int, temperature: float) -> float:
    """Softmax share (at ``temperature``) of ``faq``'s whole group among all
    FAQs of one question's ``rank_scores``: twins add up instead of splitting.
    Excluded FAQs may be ``-inf``."""
    weights = np.exp((rank_scores - rank_scores[faq]) / temperature)
    return float(weights[group_of == group_of[faq]].sum() / weights.sum())


MERGE_ADVICE = "these {count} FAQs answer almost the same question: merge them or add phrasings that tell them apart"


def describe_groups(duplicates: Duplicates, ids: list[str], questions: list[str],
                    limit: int | None = None) -> list[str]:
    """One line per group of near-duplicate FAQs (largest first, at most
    ``limit``), naming each FAQ by id and question, for ``index build``,
    ``index info`` and the FAQ review."""
    lines = []
    for group in duplicates.groups[:limit]:
        members = "; ".join(f"[{ids[f]}] {questions[f]}" for f in group)
        lines.append(f"{MERGE_ADVICE.format(count=len(group))}: {members}")
    return lines


def _store_duplicates(index: FAQIndex) -> None:
    find_duplicates(index)  # puts its groups on the index


register_producer(DUPLICATES_PART, _store_duplicates)  # every saved index stores its groups
