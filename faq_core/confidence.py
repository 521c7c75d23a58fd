"""The readable score of each match, the confidence, and near-ties.

The blend scorer (``faq_core.scoring``) answers two questions with two
signals:

- *Is the question about this FAQ set at all?* The plain-space cosine of the
  top FAQ (``beta x best phrasing + (1 - beta) x centroid``): the direction
  shared by all FAQs, which ranking removes, is what tells an off-topic
  question from a covered one.
- *Which FAQ?* The ranking scores, turned into shares that sum to one over
  all FAQs by a softmax at ``TEMPERATURE``: a question equally close to two
  FAQs gives each about half.

A match's readable score is their product, ``plain confidence of the top FAQ
x its share``: between 0 and 1, ordered exactly like the ranking, and the top
match's score is the confidence that decides answering. So a near-tie lowers
the confidence by itself (the margin to the runner-up counts), and the number
people see is the number that decided.

When the top FAQ alone falls short but the top two *together* reach the
threshold and are near-tied (the second has at least ``TIE_RATIO`` of the
first's score), the answer is ambiguous: front ends show both as "one of
these?" instead of guessing or saying "I don't know".
"""

from __future__ import annotations

import numpy as np

TEMPERATURE = 0.2  # of the softmax over ranking scores (chosen on held-out rows: 0.1-0.5 measured)
TIE_RATIO = 0.5  # a runner-up with at least this share of the top's score is a near-tie


def shares(rank_scores: np.ndarray, top: np.ndarray, temperature: float = TEMPERATURE) -> np.ndarray:
    """Softmax share of the FAQs ``top`` among all FAQs of one question's
    ``rank_scores`` (excluded FAQs may be ``-inf``)."""
    best = float(rank_scores[top[0]])
    total = float(np.exp((rank_scores - best) / temperature).sum())
    return np.exp((rank_scores[top] - best) / temperature) / total


def readable_scores(plain_confidence: float, top_shares: np.ndarray) -> np.ndarray:
    """Scores shown beside the FAQs: confidence x share, never negative."""
    return np.maximum(plain_confidence, 0.0) * top_shares


def is_ambiguous(first: float, second: float, threshold: float) -> bool:
    """Top two scores that together reach the threshold, the top one alone
    does not, and the second is close to the first."""
    return first < threshold <= first + second and second >= TIE_RATIO * first
