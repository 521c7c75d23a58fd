"""Knowing when not to answer: the unseen-FAQ protocol and calibration stability.

Part of ``make eval`` (``bench.eval`` calls :func:`abstention_tables`).

- **Unseen FAQs**: 20% of the intents (seeded) are removed from the FAQ source
  and their questions count as out of scope (``bench.datasets.unseen_faqs``),
  on BANKING77 (reported: ``test``) and CLINC150 (reported: ``val`` +
  ``oos_val``, whose real out-of-scope rows stay out of scope). CLINC150 with
  all intents and its real ``oos_val`` rows is measured too.
- Each is answered with the blend scorer at its **automatic** threshold (from
  the index alone, no labels), and with a threshold **calibrated** for 90%
  abstention on labelled held-out rows (BANKING77: 10 further train rows per
  intent; CLINC150: 10 further train rows per intent + ``oos_train``, the
  held-out intents' rows relabelled out of scope), against nearest-phrasing
  calibrated the same way in the same run (and at its own automatic threshold).
- Figures: top-1; out-of-scope abstention; answered-and-correct; the
  wrong-answer rate among answered questions (an answered out-of-scope
  question is wrong too); with the ambiguity card ("one of these?" for
  near-tied top two), the share of questions that got it and the wrong rate
  among answered-or-carded questions (a card is right when the expected FAQ is
  one of its two).
- **Split-half stability** (CLINC150, all intents): the calibration rows are
  split in two halves (seeded); a threshold calibrated for 90% on one half is
  applied to the other half's out-of-scope rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bench.common import table
from bench.datasets import Benchmark, banking77, clinc150, faqs_of, unseen_faqs
from bench.vector_cache import CachedEmbedder
from faq_core.engine import FAQEngine
from faq_core.evaluation import ABSTAINED, ANSWERED, CARD, LabelledQuery, QueryResult, calibrate, metrics, run_queries
from faq_core.index import FAQIndex, build_index
from faq_core.scoring import Scorer, make_scorer
from faq_core.threshold import estimate_threshold, with_auto_threshold

K = 10
TARGET = 0.9


def figures(results: Sequence[QueryResult]) -> dict[str, float | None]:
    """Top-1, abstention, answered-and-correct, wrong rates, card share, with
    the outcomes (answered / card / abstained) as ``faq-bot eval`` counts them
    (``faq_core.evaluation.outcome_of``)."""
    inside = [r for r in results if r.in_scope]
    outside = [r for r in results if not r.in_scope]
    answered = [r for r in results if r.outcome == ANSWERED]
    carded = [r for r in results if r.outcome == CARD]
    m = metrics(results)

    def share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    return {
        "top1": m.top1_accuracy,
        "abstention": m.oos_abstention,
        "abstention_alone": share(sum(r.outcome != ANSWERED for r in outside), len(outside)),
        "answered_correct": m.answered_correct,
        "wrong_answered": share(sum(not r.correct for r in answered), len(answered)),
        "card_share": share(len(carded), len(results)),
        "wrong_with_card": share(sum(not r.correct for r in answered) + sum(not r.card_correct for r in carded),
                                 len(answered) + len(carded)),
        "helped_with_card": share(sum(r.outcome == ANSWERED and r.correct for r in inside)
                                  + sum(r.card_correct for r in inside), len(inside)),
        # in-scope questions whose right FAQ was ranked first but that got no answer nor card
        "refused_right_first": share(sum(r.correct and r.outcome == ABSTAINED for r in inside),
                                     sum(r.correct for r in inside)),
    }


def measure(index: FAQIndex, embedder: CachedEmbedder, scorer: Scorer, queries: list[LabelledQuery],
            calibration: list[LabelledQuery] | None) -> dict[str, Any]:
    """One engine at its automatic threshold, or calibrated on ``calibration``."""
    engine = FAQEngine(index, embedder, scoring=scorer)
    if calibration is not None:
        engine.threshold = calibrate(engine, calibration, TARGET).threshold
    else:  # what index build stores (the engine alone would estimate nearest's from fewer samples)
        estimate = estimate_threshold(index, scorer)
        assert estimate is not None
        engine.threshold = estimate.threshold
    return {"threshold": engine.threshold, **figures(run_queries(engine, queries, 3))}


def protocols(seed: int) -> list[tuple[str, Benchmark, str, str]]:
    """(label, benchmark, reported set, calibration set) of each protocol."""
    b77, clinc = banking77(seed=seed), clinc150(seed=seed)
    return [
        ("BANKING77 unseen FAQs", unseen_faqs(b77, seed), "test", "dev"),
        ("CLINC150 unseen FAQs + oos_val", unseen_faqs(clinc, seed), "val", "cal"),
        ("CLINC150 oos_val", clinc, "val", "cal"),
    ]


ENGINES: list[tuple[str, str, bool]] = [
    ("nearest, labelled calibration", "nearest", True),
    ("nearest, automatic", "nearest", False),
    ("blend, labelled calibration", "blend", True),
    ("blend, automatic (default)", "blend", False),
]


def run_protocols(embedder: CachedEmbedder, seed: int) -> tuple[list[dict[str, Any]], list[list[object]]]:
    """Every protocol x engine for one seed, and the split-half rows (CLINC150, all intents)."""
    records: list[dict[str, Any]] = []
    halves: list[list[object]] = []
    for label, bench, reported, cal in protocols(seed):
        # one scorer per kind, shared by its engines (the blend one is what with_auto_threshold estimates with)
        index = build_index(faqs_of(bench, K), embedder, source_name=label)
        scorers = {kind: make_scorer(index, kind) for kind in ("nearest", "blend")}
        with_auto_threshold(index, scorers["blend"])
        for name, kind, labelled in ENGINES:
            r = measure(index, embedder, scorers[kind], bench.queries[reported],
                        bench.queries[cal] if labelled else None)
            records.append({"protocol": label, "engine": name, "seed": seed, **r})
        if bench.name == "clinc150":
            halves += split_half(index, embedder, scorers, bench.queries[cal], seed)
    return records, halves


def _f(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def split_half(index: FAQIndex, embedder: CachedEmbedder, scorers: dict[str, Scorer],
               cal: list[LabelledQuery], seed: int) -> list[list[object]]:
    """Calibrate on one half of the calibration rows, measure the other half's abstention."""
    rows: list[list[object]] = []
    order = np.random.default_rng(seed).permutation(len(cal))
    halves = [[cal[i] for i in order[: len(cal) // 2]], [cal[i] for i in order[len(cal) // 2:]]]
    for kind, scorer in scorers.items():
        engine = FAQEngine(index, embedder, scoring=scorer)
        estimate = estimate_threshold(index, scorer)
        assert estimate is not None
        auto = estimate.threshold
        for fit, held in ((0, 1), (1, 0)):
            c = calibrate(engine, halves[fit], TARGET)
            other = run_queries(engine, [q for q in halves[held] if q.faq_id is None], 1)
            unseen = sum(r.confidence < c.threshold for r in other) / len(other)
            at_auto = sum(r.confidence < auto for r in other) / len(other)
            rows.append([seed, kind, f"half {fit + 1}", _f(c.abstention), _f(unseen), _f(c.threshold), _f(at_auto)])
    return rows


def abstention_tables(embedder: CachedEmbedder, seeds: Sequence[int]) -> dict[str, Any]:
    """Print the unseen-FAQ table (first seed), its summary over seeds, and split-half stability."""
    runs = {seed: run_protocols(embedder, seed) for seed in seeds}
    by_seed = {seed: run[0] for seed, run in runs.items()}
    halves = [row for seed in seeds for row in runs[seed][1]]
    first = by_seed[seeds[0]]
    print(f"\n## Knowing when not to answer (K = {K}, seed {seeds[0]}; never tuned on these questions)\n")
    print(table(
        ["protocol", "engine", "top-1", "OOS abstain", "answered+correct", "wrong among answered", "threshold",
         "card share", "wrong among answered+card", "answered+correct or card"],
        [[r["protocol"], r["engine"], _f(r["top1"]), _f(r["abstention"]), _f(r["answered_correct"]),
          _f(r["wrong_answered"]), _f(r["threshold"]), _f(r["card_share"]), _f(r["wrong_with_card"]),
          _f(r["helped_with_card"])] for r in first]))
    print("\nOOS abstain counts a near-tie card as not abstaining. Calibration: 90% abstention on labelled "
          "held-out train rows (+ oos_train); automatic: from the index alone.")
    if len(seeds) > 1:
        def spread(values: list[float | None]) -> str:
            v = [x for x in values if x is not None]
            return f"{sum(v) / len(v):.3f} ({min(v):.3f}-{max(v):.3f})" if v else ""

        rows = []
        for i, r in enumerate(first):
            same = [by_seed[s][i] for s in seeds]
            rows.append([r["protocol"], r["engine"], spread([x["top1"] for x in same]),
                         spread([x["abstention"] for x in same]), spread([x["answered_correct"] for x in same]),
                         spread([x["wrong_answered"] for x in same])])
        print(f"\n## The same over seeds {', '.join(map(str, seeds))}: mean (min-max)\n")
        print(table(["protocol", "engine", "top-1", "OOS abstain", "answered+correct", "wrong among answered"],
                    rows))
    print("\n## Split-half calibration stability (CLINC150, 90% target): calibrated on one half of the "
          "calibration rows, applied to the other half's out-of-scope rows\n")
    print(table(["seed", "scoring", "calibrated on", "abstention there", "abstention on the other half",
                 "threshold", "other half at the automatic threshold"], halves))
    return {"by_seed": {str(s): v for s, v in by_seed.items()}, "split_half": halves}
