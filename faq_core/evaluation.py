"""Measuring answer quality on labelled questions, and choosing the threshold.

A query file is JSONL, one ``{"text": str, "faq_id": ...}`` per line, where
``faq_id`` is one FAQ id, a list of FAQ ids that are all acceptable answers
(collections often judge several FAQs right), or ``null`` for an out-of-scope
question, whose right outcome is "no confident match". :func:`evaluate` runs
the questions through :meth:`FAQEngine.answer_many` (the bot's own code path).

Every question ends in exactly one of three **outcomes** (:func:`outcome_of`,
the one convention ``faq-bot eval`` and ``bench`` share): ``answered`` (the
confidence reached the threshold), ``card`` (the near-tied top two were
offered as "one of these?") or ``abstained`` (neither). The report gives:

- ``top1_accuracy``, ``hit_at_3``, ``mrr`` over in-scope questions, the rank
  being that of the best-ranked acceptable FAQ (MRR counts ranks up to
  ``depth``, 10 by default; a deeper rank counts 0);
- ``oos_abstention``: the share of out-of-scope questions that *abstained*
  (a card is not abstaining: it shows FAQs);
- ``answered_correct``: the share of in-scope questions answered *and* with an
  acceptable FAQ first;
- ``card_correct``: the share of in-scope questions given a card holding an
  acceptable FAQ; ``oos_card``: the share of out-of-scope ones given a card;
- ``outcomes``: the count of each outcome, in scope and out of scope.

:func:`choose_threshold` picks the threshold on a calibration set: the lowest
one that keeps abstention on its out-of-scope rows at or above the target,
which maximises answered-and-correct, since that can only fall as the
threshold rises.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from faq_core.engine import FAQEngine
from faq_core.errors import FAQBotError, FAQSourceError
from faq_core.faqs import jsonl_objects, read_utf8

DEFAULT_TARGET_ABSTENTION = 0.9
DEFAULT_DEPTH = 10
OutcomeName = Literal["answered", "card", "abstained"]
ANSWERED: Final = "answered"
CARD: Final = "card"
ABSTAINED: Final = "abstained"
OUTCOMES: tuple[OutcomeName, ...] = (ANSWERED, CARD, ABSTAINED)


@dataclass(frozen=True)
class LabelledQuery:
    """A question and the FAQ that answers it (None: out of scope);
    ``also`` holds further FAQ ids that are as acceptable as ``faq_id``."""

    text: str
    faq_id: str | None
    also: tuple[str, ...] = ()

    @property
    def acceptable(self) -> tuple[str, ...]:
        """Every acceptable FAQ id, ``faq_id`` first; () for out of scope."""
        return () if self.faq_id is None else (self.faq_id, *self.also)

    @property
    def label(self) -> str | list[str] | None:
        """The label as a query file writes it: one id, a list, or None."""
        return list(self.acceptable) if self.also else self.faq_id


@dataclass(frozen=True)
class QueryResult:
    """What the engine did with one labelled question."""

    text: str
    expected: str | None
    predicted: str | None
    confidence: float
    answered: bool
    rank_of_expected: int | None
    ambiguous: bool = False  # not answered alone, the top two offered together ("one of these?")
    also: tuple[str, ...] = ()  # further acceptable FAQ ids; rank_of_expected is the best of them all

    @property
    def in_scope(self) -> bool:
        return self.expected is not None

    @property
    def correct(self) -> bool:
        """In scope and an acceptable FAQ ranked first (answered or not)."""
        return self.in_scope and self.rank_of_expected == 1

    @property
    def outcome(self) -> OutcomeName:
        """``answered``, ``card`` or ``abstained`` (:func:`outcome_of`)."""
        return outcome_of(self.answered, self.ambiguous)

    @property
    def card_correct(self) -> bool:
        """In scope, given a card, and an acceptable FAQ is one of its two."""
        return (self.in_scope and self.outcome == CARD and self.rank_of_expected is not None
                and self.rank_of_expected <= 2)

    def to_dict(self) -> dict[str, Any]:
        expected: str | list[str] | None = [str(self.expected), *self.also] if self.also else self.expected
        return {
            "text": self.text, "expected": expected, "predicted": self.predicted,
            "confidence": self.confidence, "outcome": self.outcome, "answered": self.answered,
            "ambiguous": self.ambiguous, "rank_of_expected": self.rank_of_expected,
        }


def outcome_of(answered: bool, card: bool) -> OutcomeName:
    """The one convention for what happened to a question: ``answered`` (the
    confidence reached the threshold), ``card`` (the near-tied top two shown as
    "one of these?") or ``abstained`` (no FAQ offered)."""
    if answered:
        return ANSWERED
    return CARD if card else ABSTAINED


@dataclass(frozen=True)
class Metrics:
    """The headline figures; None where a group of questions is empty."""

    top1_accuracy: float | None
    hit_at_3: float | None
    mrr: float | None
    oos_abstention: float | None
    answered_correct: float | None
    in_scope: int
    out_of_scope: int
    card_correct: float | None = None
    oos_card: float | None = None
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass
class EvalReport:
    """Metrics, the threshold used, per-question results and timings (seconds)."""

    metrics: Metrics
    threshold: float
    results: list[QueryResult]
    timings: dict[str, float] = field(default_factory=dict)
    calibration: dict[str, Any] | None = None
    threshold_source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The object ``faq-bot eval --json`` prints."""
        m = self.metrics
        return {
            "top1_accuracy": m.top1_accuracy, "hit_at_3": m.hit_at_3, "mrr": m.mrr,
            "oos_abstention": m.oos_abstention, "answered_correct": m.answered_correct,
            "card_correct": m.card_correct, "oos_card": m.oos_card, "outcomes": m.outcomes,
            "threshold": self.threshold, "threshold_source": self.threshold_source,
            "in_scope": m.in_scope, "out_of_scope": m.out_of_scope,
            "calibration": self.calibration, "timings": self.timings,
            "queries": [r.to_dict() for r in self.results],
        }


def load_queries(path: str | Path) -> list[LabelledQuery]:
    """Read a JSONL query file; any bad line refuses the file with
    :class:`FAQSourceError` (file, line, reason)."""
    path = Path(path)
    text = read_utf8(path, "questions")
    return [_query_row(path, line, row) for line, row in jsonl_objects(path, text, ("text", "faq_id"))]


def _query_row(path: Path, line: int, row: dict[str, Any]) -> LabelledQuery:
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise FAQSourceError(path, line, "text must be a non-empty string")
    if "faq_id" not in row:
        raise FAQSourceError(path, line, "missing faq_id (use null for an out-of-scope question)")
    faq_id = row["faq_id"]
    if faq_id is None:
        return LabelledQuery(" ".join(text.split()), None)
    ids = faq_id if isinstance(faq_id, list) else [faq_id]
    if not ids or not all(isinstance(i, str) and i.strip() for i in ids):
        raise FAQSourceError(path, line, "faq_id must be a non-empty string, a non-empty list of them, "
                             "or null for out of scope")
    first, *rest = dict.fromkeys(i.strip() for i in ids)
    return LabelledQuery(" ".join(text.split()), first, tuple(rest))


def check_faq_ids(path: str | Path, queries: Sequence[LabelledQuery], known: set[str]) -> None:
    """Refuse a query file that names an FAQ the index does not hold."""
    for line, query in enumerate(queries, start=1):
        for faq_id in query.acceptable:
            if faq_id not in known:
                raise FAQSourceError(path, _line_of(path, line), f"faq_id {faq_id!r} is not an FAQ of the index")


def _line_of(path: str | Path, nth: int) -> int:
    """File line of the ``nth`` non-blank line (query files may have blank lines)."""
    seen = 0
    for number, content in enumerate(Path(path).read_text(encoding="utf-8-sig").splitlines(), start=1):
        if content.strip():
            seen += 1
            if seen == nth:
                return number
    return nth


def metrics(results: Sequence[QueryResult]) -> Metrics:
    """Top-1, hit@3, MRR, abstention, answered-and-correct and the outcome counts of ``results``."""
    inside = [r for r in results if r.in_scope]
    outside = [r for r in results if not r.in_scope]

    def share(items: Sequence[QueryResult], hit: Any) -> float | None:
        return sum(1 for r in items if hit(r)) / len(items) if items else None

    ranks = [r.rank_of_expected for r in inside]
    return Metrics(
        top1_accuracy=share(inside, lambda r: r.rank_of_expected == 1),
        hit_at_3=share(inside, lambda r: r.rank_of_expected is not None and r.rank_of_expected <= 3),
        mrr=sum(1 / rank for rank in ranks if rank) / len(inside) if inside else None,
        oos_abstention=share(outside, lambda r: r.outcome == ABSTAINED),
        answered_correct=share(inside, lambda r: r.answered and r.rank_of_expected == 1),
        in_scope=len(inside),
        out_of_scope=len(outside),
        card_correct=share(inside, lambda r: r.card_correct),
        oos_card=share(outside, lambda r: r.outcome == CARD),
        outcomes={scope: {name: sum(r.outcome == name for r in rows) for name in OUTCOMES}
                  for scope, rows in (("in_scope", inside), ("out_of_scope", outside))},
    )


def run_queries(engine: FAQEngine, queries: Sequence[LabelledQuery], depth: int = DEFAULT_DEPTH) -> list[QueryResult]:
    """Answer every question with ``engine.answer_many`` and record the outcome."""
    answers = engine.answer_many([q.text for q in queries], depth)
    results = []
    for query, answer in zip(queries, answers, strict=True):
        ids = [m.faq_id for m in answer.matches]
        ranks = [ids.index(faq_id) + 1 for faq_id in query.acceptable if faq_id in ids]
        results.append(QueryResult(
            text=query.text, expected=query.faq_id, predicted=ids[0] if ids else None,
            confidence=answer.confidence, answered=answer.answered, rank_of_expected=min(ranks, default=None),
            ambiguous=answer.ambiguous, also=query.also,
        ))
    return results


@dataclass(frozen=True)
class Calibration:
    """A threshold chosen on a calibration set, and how it did there."""

    threshold: float
    target_abstention: float
    abstention: float
    answered_correct: float | None
    in_scope: int
    out_of_scope: int
    scoring: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold, "target_abstention": self.target_abstention,
            "abstention": self.abstention, "answered_correct": self.answered_correct,
            "in_scope": self.in_scope, "out_of_scope": self.out_of_scope, "scoring": self.scoring,
        }


def choose_threshold(
    confidences: Sequence[float], correct: Sequence[bool], out_of_scope: Sequence[bool], target: float
) -> float:
    """The lowest threshold at which at least ``target`` of the out-of-scope
    rows fall below it (are not answered).

    Answered-and-correct only falls as the threshold rises, so the lowest
    feasible threshold is the best one. It is placed halfway between the
    out-of-scope confidence that must be refused and the next higher
    confidence, so rows on the calibration set keep their outcome while new
    questions near the boundary are not decided by a rounding error.
    ``correct`` is accepted for symmetry with the metric and ignored by the
    rule itself.
    """
    if not 0 <= target <= 1:
        raise FAQBotError(f"the target abstention must be between 0 and 1, got {target}")
    oos = sorted(c for c, o in zip(confidences, out_of_scope, strict=True) if o)
    if not oos:
        raise FAQBotError("the calibration set has no out-of-scope rows (faq_id null): nothing to calibrate on")
    if len(confidences) != len(correct):
        raise ValueError("confidences and correct differ in length")
    needed = math.ceil(target * len(oos) - 1e-9)  # out-of-scope rows that must fall below the threshold
    if needed == 0:
        return float(min(confidences))
    refused = oos[needed - 1]
    above = [c for c in confidences if c > refused]
    if not above:
        return float(math.nextafter(refused, math.inf))
    return float((refused + min(above)) / 2)


def calibrate(engine: FAQEngine, queries: Sequence[LabelledQuery], target: float = DEFAULT_TARGET_ABSTENTION,
              depth: int = 1) -> Calibration:
    """Choose the threshold for ``engine``'s confidences on a calibration set."""
    results = run_queries(engine, queries, depth)
    threshold = choose_threshold(
        [r.confidence for r in results], [r.correct for r in results], [not r.in_scope for r in results], target
    )
    inside = [r for r in results if r.in_scope]
    outside = [r for r in results if not r.in_scope]
    return Calibration(
        threshold=threshold, target_abstention=target,
        abstention=sum(r.confidence < threshold for r in outside) / len(outside),
        answered_correct=(sum(r.correct and r.confidence >= threshold for r in inside) / len(inside)
                          if inside else None),
        in_scope=len(inside), out_of_scope=len(outside), scoring=engine.scorer.version,
    )


def evaluate(engine: FAQEngine, queries: Sequence[LabelledQuery], depth: int = DEFAULT_DEPTH) -> EvalReport:
    """Run ``queries`` through ``engine`` at its threshold and measure."""
    start = time.perf_counter()
    results = run_queries(engine, queries, depth)
    elapsed = time.perf_counter() - start
    return EvalReport(
        metrics=metrics(results), threshold=engine.threshold, results=results,
        threshold_source=engine.threshold_source,
        timings={"answer_seconds": elapsed, "ms_per_query": 1000 * elapsed / max(len(queries), 1)},
    )
