"""Where the answer threshold comes from, and the automatic one.

Precedence, explicit and logged: ``FAQ_MIN_SCORE`` (a person chose it) > a
labelled calibration stored in the index (``faq-bot calibrate``) > the
automatic threshold stored in the index at ``index build`` (estimated from
the FAQ's own phrasings; an index built before it existed gets one estimated
when the engine starts). A stored threshold is used only if it was computed
for the confidence function the engine uses (``scoring``): numbers from
another confidence mean something else. :func:`with_auto_threshold` stores
it: whoever builds an index to keep (``index build``, ``publish``, the
bundled sample, ``eval`` of a source) calls it, for the threshold is computed
with the ranking, which sits above the index.

The automatic threshold needs no labelled questions. A question whose FAQ
does not exist is the hard case of "I don't know": it is on the FAQ's topic,
close to its neighbours. Each FAQ's own phrasings, asked of the index with that
FAQ left out (leave-one-FAQ-out), are exactly such questions, so the
threshold is set where ``AUTO_QUANTILE`` of their confidences fall below it.
The quantile was chosen on held-out rows of BANKING77 and CLINC150 (see
docs/answer-quality.md), never on reported questions. At most
``MAX_SAMPLES`` phrasings are used (an evenly spaced, deterministic sample),
scored in chunks of at most ``_CHUNK_CELLS`` scores (32 MB), so the cost is
``MAX_SAMPLES`` questions answered against the index: linear in its size,
with bounded memory (``bench/threshold.py`` measures it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from faq_core import ranking
from faq_core.index import FAQIndex, IndexMeta
from faq_core.scoring import Scorer, make_scorer

log = logging.getLogger(__name__)

FROM_SETTING = "FAQ_MIN_SCORE"
FROM_CALIBRATION = "calibration"
AUTOMATIC = "automatic"
AUTO_METHOD = "leave-one-faq-out-quantile-v1"
GROUP_METHOD = "leave-one-group-out-quantile-v1"  # near-duplicate FAQs left out together (blend-v3)
AUTO_QUANTILE = 0.85  # chosen on held-out rows (0.8-0.95 measured)
MAX_SAMPLES = 1000
# An index loaded without a stored automatic threshold (built by an older
# version) gets one estimated at engine start from fewer phrasings, so start-up
# stays quick at a million phrasings; rebuilding or 'faq-bot calibrate' stores
# the full estimate.
START_SAMPLES = 200
# An index of one FAQ has nothing to leave out: its threshold is this fixed
# fallback (a readable score of 0.5: the plain cosine blend of a clearly related question).
SINGLE_FAQ_THRESHOLD = 0.5
_CHUNK_CELLS = 8_000_000  # questions x phrasings scored at once (32 MB of float32)


METHOD_WORDS = {
    AUTO_METHOD: "each FAQ left out in turn",
    GROUP_METHOD: "each FAQ left out with its near-duplicates",
}


def method_words(method: str) -> str:
    """How an automatic threshold was estimated, in words (the method id if unknown)."""
    return METHOD_WORDS.get(method, method)


def method_of(index: FAQIndex, scorer: Scorer) -> str:
    """The method of ``index``'s stored automatic threshold, else the one
    ``scorer`` would estimate with."""
    stored = index.meta.auto_threshold if isinstance(index.meta.auto_threshold, dict) else {}
    if stored.get("scoring") == scorer.version and isinstance(stored.get("method"), str):
        return str(stored["method"])
    return GROUP_METHOD if scorer.leaves_out == "group" else AUTO_METHOD


@dataclass(frozen=True)
class AutoThreshold:
    """An automatic threshold and how it was made (stored in the index metadata)."""

    threshold: float
    method: str
    scoring: str
    quantile: float
    samples: int
    estimated_at: str

    def to_dict(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "method": self.method, "scoring": self.scoring,
                "quantile": self.quantile, "samples": self.samples, "estimated_at": self.estimated_at}


def sample_rows(index: FAQIndex, max_samples: int = MAX_SAMPLES) -> np.ndarray:
    """Phrasing rows used as questions: all of them, or ``max_samples`` evenly spaced."""
    n = len(index.texts)
    if n <= max_samples:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_samples).round().astype(np.int64))


def left_out_confidences(index: FAQIndex, scorer: Scorer, rows: np.ndarray) -> np.ndarray:
    """The confidence each phrasing in ``rows`` gets when asked of the index
    with its own FAQ left out: what a question about a missing FAQ looks like."""
    if len(index.faqs) < 2:
        return np.zeros(0, dtype=np.float32)
    chunk = max(1, _CHUNK_CELLS // max(len(index.texts), len(index.faqs)))
    out = np.empty(len(rows), dtype=np.float32)
    for first in range(0, len(rows), chunk):
        block = rows[first : first + chunk]
        queries = index.vectors[block]
        scores = scorer.rank_scores(queries)
        for i, row in enumerate(scores):
            row[scorer.left_out(int(index.owner[block[i]]))] = -np.inf
            out[first + i] = scorer.match_scores(queries[i], row, ranking.top_k(row, 2))[0]
    return out


def estimate_threshold(index: FAQIndex, scorer: Scorer, *, quantile: float = AUTO_QUANTILE,
                       max_samples: int = MAX_SAMPLES) -> AutoThreshold | None:
    """The automatic threshold of ``index`` for ``scorer``'s confidence; None
    for a single-FAQ index (nothing to leave out)."""
    rows = sample_rows(index, max_samples)
    confidences = left_out_confidences(index, scorer, rows)
    if not len(confidences):
        return None
    return AutoThreshold(
        threshold=float(np.quantile(confidences, quantile)), scoring=scorer.version,
        method=GROUP_METHOD if scorer.leaves_out == "group" else AUTO_METHOD,
        quantile=quantile, samples=len(rows), estimated_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def stored_threshold(meta: IndexMeta, scoring_version: str, *, warn: bool = False) -> tuple[float, str] | None:
    """The threshold the index metadata holds for confidences of
    ``scoring_version``, and its source: the labelled calibration, else the
    automatic one; None if neither was computed for that confidence."""
    if meta.min_score is not None:
        calibrated_for = meta.calibration.get("scoring") if isinstance(meta.calibration, dict) else None
        if calibrated_for in (None, scoring_version):
            return float(meta.min_score), FROM_CALIBRATION
        if warn:
            log.warning(
                "the index threshold %.3f was calibrated for %s confidences, this engine computes %s ones: "
                "using the automatic threshold instead (recalibrate with 'faq-bot calibrate')",
                meta.min_score, calibrated_for, scoring_version,
            )
    stored = meta.auto_threshold if isinstance(meta.auto_threshold, dict) else {}
    if stored.get("scoring") == scoring_version and isinstance(stored.get("threshold"), (int, float)):
        return float(stored["threshold"]), AUTOMATIC
    return None


def resolve_threshold(index: FAQIndex, scorer: Scorer) -> tuple[float, str]:
    """The threshold and its source for an engine with no ``FAQ_MIN_SCORE``:
    the index's labelled calibration, else its automatic threshold, else one
    estimated now (each only if computed for ``scorer``'s confidence)."""
    stored = stored_threshold(index.meta, scorer.version, warn=True)
    if stored is not None:
        return stored
    estimate = estimate_threshold(index, scorer, max_samples=START_SAMPLES)
    if estimate is None:
        return SINGLE_FAQ_THRESHOLD, AUTOMATIC
    log.info("estimated the automatic threshold %.3f for %s from %d phrasings (not stored in the index)",
             estimate.threshold, scorer.version, estimate.samples)
    return estimate.threshold, AUTOMATIC


def with_auto_threshold(index: FAQIndex, scorer: Scorer | None = None) -> FAQIndex:
    """``index`` with the automatic threshold of ``scorer``'s confidence
    (default: the blend scorer, built here) in its metadata."""
    if scorer is None:
        scorer = make_scorer(index)
    estimate = estimate_threshold(index, scorer)
    index.meta = replace(index.meta, auto_threshold=estimate.to_dict() if estimate else {})
    return index
