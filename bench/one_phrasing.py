"""The one-phrasing protocol: an FAQ page as a team pastes it.

Part of ``make eval`` (``bench.eval`` calls :func:`one_phrasing_tables`).

Each FAQ has one phrasing (its question), FAQs overlap, and there are no
labels. Three protocols, each with ``UNSEEN_SHARE`` of the FAQs held out
(seeded) so that their questions become out of scope:

- **BANKING77, K = 1**: one train row per intent is the FAQ's question;
  reported on ``test``; labelled calibration (for the baseline) and tuning on
  10 further train rows per intent (``dev``). BANKING77's overlapping intents
  are exactly the near-duplicate problem.
- **CLINC150, K = 1**: reported on ``val`` + ``oos_val``; calibration and
  tuning on 10 further train rows per intent + ``oos_train`` (``cal``).
- **FAQ page**: a hand-written page of 34 FAQs with answers for an invented
  product (``tests/fixtures/faq_page``), a few deliberate near-duplicates,
  questions that name the product; ``dev`` questions for calibration and
  tuning, ``test`` questions reported. A question labelled with two twins
  stays in scope while either is kept.

The same protocols at K = 10 (BANKING77, CLINC150) are measured beside, so a
change for one-phrasing FAQ sets is seen where FAQs have many phrasings too.

Engines: nearest-phrasing calibrated on the labelled rows for
``TARGET`` abstention (the reference the automatic threshold is held to),
nearest and ``blend-v2`` at their automatic thresholds, and ``blend-v3`` (the
default: near-duplicate groups, group share, leave-one-group-out). Outcomes
follow ``faq_core.evaluation``: answered / card / abstained.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.abstention import figures
from bench.common import table
from bench.datasets import Benchmark, banking77, clinc150, faqs_of
from bench.vector_cache import CachedEmbedder
from faq_core.engine import FAQEngine
from faq_core.evaluation import LabelledQuery, calibrate, load_queries, run_queries
from faq_core.faqs import FAQ, load_faqs
from faq_core.index import FAQIndex, build_index
from faq_core.scoring import BlendScorer, GroupedBlendScorer, NearestPhrasing, Scorer
from faq_core.threshold import estimate_threshold

PAGE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "faq_page"
UNSEEN_SHARE = 0.25
TARGET = 0.85  # abstention the labelled calibration of the baseline aims at (the target's level)
ScorerFactory = Callable[[FAQIndex], Scorer]


@dataclass(frozen=True)
class Protocol:
    """FAQs kept, the reported questions and the labelled dev questions."""

    name: str
    k: int
    faqs: list[FAQ]
    reported: list[LabelledQuery]
    dev: list[LabelledQuery]


def held_out(ids: Sequence[str], seed: int, share: float = UNSEEN_SHARE) -> set[str]:
    """``share`` of ``ids`` (sorted first), chosen with ``seed``."""
    ordered = sorted(ids)
    rng = np.random.default_rng(seed)
    return {ordered[int(i)] for i in rng.choice(len(ordered), size=round(share * len(ordered)), replace=False)}


def relabel(queries: Sequence[LabelledQuery], held: set[str]) -> list[LabelledQuery]:
    """Questions with the held-out FAQs removed from their labels; a
    question left with no acceptable FAQ is out of scope."""
    out = []
    for q in queries:
        kept = [i for i in q.acceptable if i not in held]
        out.append(LabelledQuery(q.text, kept[0], tuple(kept[1:])) if kept else LabelledQuery(q.text, None))
    return out


def benchmark_protocol(bench: Benchmark, k: int, seed: int, reported: str, dev: str) -> Protocol:
    """BANKING77 or CLINC150 with ``k`` phrasings and held-out intents."""
    held = held_out(list(bench.phrasings), seed)
    faqs = [f for f in faqs_of(bench, k) if f.id not in held]
    return Protocol(f"{bench.name} K={k}", k, faqs, relabel(bench.queries[reported], held),
                    relabel(bench.queries[dev], held))


def page_protocol(seed: int) -> Protocol:
    """The hand-written FAQ page with held-out FAQs."""
    faqs = load_faqs(PAGE / "ferngate_faqs.csv")
    held = held_out([f.id for f in faqs], seed)
    return Protocol("FAQ page K=1", 1, [f for f in faqs if f.id not in held],
                    relabel(load_queries(PAGE / "ferngate_test.jsonl"), held),
                    relabel(load_queries(PAGE / "ferngate_dev.jsonl"), held))


def protocols(seed: int, *, k10: bool = True) -> list[Protocol]:
    """Every protocol of one seed (K = 10 too unless ``k10`` is False)."""
    b77, clinc = banking77(seed=seed), clinc150(seed=seed)
    out = [benchmark_protocol(b77, 1, seed, "test", "dev"), benchmark_protocol(clinc, 1, seed, "val", "cal"),
           page_protocol(seed)]
    if k10:
        out += [benchmark_protocol(b77, 10, seed, "test", "dev"), benchmark_protocol(clinc, 10, seed, "val", "cal")]
    return out


ENGINES: list[tuple[str, ScorerFactory, bool]] = [
    ("nearest, labelled calibration", NearestPhrasing, True),
    ("nearest, automatic", NearestPhrasing, False),
    ("blend-v2, automatic (before)", BlendScorer, False),
    ("blend-v3, automatic (default)", GroupedBlendScorer, False),
]


def measure(index: FAQIndex, embedder: CachedEmbedder, scorer: Scorer, queries: list[LabelledQuery],
            calibration: list[LabelledQuery] | None, target: float = TARGET) -> dict[str, Any]:
    """One engine at its automatic threshold, or calibrated on ``calibration``."""
    engine = FAQEngine(index, embedder, scoring=scorer, min_score=0.0)
    if calibration is not None:
        engine.threshold = calibrate(engine, calibration, target).threshold
    else:
        estimate = estimate_threshold(index, scorer)
        assert estimate is not None
        engine.threshold = estimate.threshold
    return {"threshold": engine.threshold, **figures(run_queries(engine, queries, 3))}


def run_protocol(protocol: Protocol, embedder: CachedEmbedder, engines: Sequence[tuple[str, ScorerFactory, bool]],
                 *, on_dev: bool = False) -> list[dict[str, Any]]:
    """Every engine on one protocol; ``on_dev`` measures on the dev rows (for tuning)."""
    index = build_index(protocol.faqs, embedder, source_name=protocol.name)
    queries = protocol.dev if on_dev else protocol.reported
    records = []
    for name, factory, labelled in engines:
        scorer = factory(index)
        r = measure(index, embedder, scorer, queries, protocol.dev if labelled else None)
        groups = getattr(scorer, "duplicates", None)
        records.append({"protocol": protocol.name, "engine": name, "faqs": len(protocol.faqs),
                        "twin_faqs": groups.twin_count if groups else None, **r})
    return records


def _f(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def spread(values: list[float | None]) -> str:
    """Mean (min-max) of the values present."""
    v = [x for x in values if x is not None]
    return f"{sum(v) / len(v):.3f} ({min(v):.3f}-{max(v):.3f})" if v else ""


HEADERS = ["protocol", "engine", "top-1", "OOS abstain", "answered+correct", "card share", "card right",
           "right-first refused", "threshold"]


def row_of(r: dict[str, Any]) -> list[object]:
    """One table row of a record."""
    return [r["protocol"], r["engine"], _f(r["top1"]), _f(r["abstention"]), _f(r["answered_correct"]),
            _f(r["card_share"]), _f(r["helped_with_card"]), _f(r["refused_right_first"]), _f(r["threshold"])]


def one_phrasing_tables(embedder: CachedEmbedder, seeds: Sequence[int], *, k10: bool = True) -> dict[str, Any]:
    """Print the one-phrasing tables: the first seed in full, then mean (min-max) over seeds."""
    by_seed = {seed: [r for p in protocols(seed, k10=k10) for r in run_protocol(p, embedder, ENGINES)]
               for seed in seeds}
    first = by_seed[seeds[0]]
    print(f"\n## One phrasing per FAQ, {UNSEEN_SHARE:.0%} of FAQs unseen (seed {seeds[0]}; "
          "automatic thresholds use no labels; never tuned on these questions)\n")
    print(table(HEADERS, [row_of(r) for r in first]))
    print(f"\nLabelled calibration: {TARGET:.0%} abstention on the dev rows. Card right: in-scope questions "
          "answered right or given a card holding the right FAQ. Right-first refused: share of questions whose "
          "right FAQ was ranked first that abstained.")
    if len(seeds) > 1:
        rows = []
        for i, r in enumerate(first):
            same = [by_seed[s][i] for s in seeds]
            rows.append([r["protocol"], r["engine"], *(spread([x[key] for x in same]) for key in
                         ("top1", "abstention", "answered_correct", "refused_right_first"))])
        print(f"\n## The same over seeds {', '.join(map(str, seeds))}: mean (min-max)\n")
        print(table(["protocol", "engine", "top-1", "OOS abstain", "answered+correct", "right-first refused"],
                    rows))
    return {"by_seed": {str(s): v for s, v in by_seed.items()}}
