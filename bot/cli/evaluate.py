"""The ``faq-bot eval`` and ``faq-bot calibrate`` sub-commands.

``eval`` measures an FAQ source (or a built index) on labelled questions,
optionally with a threshold chosen on a separate calibration file; ``calibrate``
chooses that threshold for an index folder and writes it into the folder's
metadata, where the bot and ``faq-bot ask`` pick it up.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from faq_core.embedders import make_embedder
from faq_core.engine import FAQEngine
from faq_core.errors import FAQBotError
from faq_core.evaluation import (
    DEFAULT_DEPTH,
    DEFAULT_TARGET_ABSTENTION,
    EvalReport,
    calibrate,
    check_faq_ids,
    evaluate,
    load_queries,
)
from faq_core.index import FAQIndex, build_index_from_source, load_index, store_state, write_meta
from faq_core.scoring import SCORERS, make_scorer
from faq_core.settings import Settings
from faq_core.threshold import estimate_threshold, with_auto_threshold


def add_commands(sub: Any) -> None:
    """Register ``eval`` and ``calibrate`` on the CLI's sub-parser set."""
    ev = sub.add_parser("eval", help="measure answer quality on labelled questions (JSONL)")
    ev.add_argument("--faqs", required=True, type=Path, metavar="SOURCE",
                    help="FAQ source (CSV/JSONL, embedded now) or an index folder")
    ev.add_argument("--queries", required=True, type=Path, metavar="QUERIES.jsonl",
                    help='rows {"text": ..., "faq_id": an id, a list of acceptable ids, or null for out of scope}')
    ev.add_argument("--calibration", type=Path, default=None, metavar="CAL.jsonl",
                    help="choose the threshold on these rows (never on QUERIES)")
    _calibration_options(ev)
    ev.add_argument("--depth", type=int, default=DEFAULT_DEPTH, help="ranks looked at for MRR (default 10)")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.set_defaults(handler=cmd_eval)

    cal = sub.add_parser("calibrate", help="choose the threshold on labelled questions (or, without them, "
                         "re-estimate the automatic one) and store it in an index")
    cal.add_argument("index", type=Path, metavar="INDEX_DIR", help="local index folder (its metadata is updated)")
    cal.add_argument("--calibration", type=Path, default=None, metavar="CAL.jsonl",
                     help="labelled rows; without them the automatic threshold is re-estimated "
                          "and any labelled calibration is removed")
    _calibration_options(cal)
    cal.set_defaults(handler=cmd_calibrate)


def _calibration_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target-abstention", type=float, default=DEFAULT_TARGET_ABSTENTION,
                        help="share of out-of-scope calibration rows that must get no answer (default 0.9)")
    parser.add_argument("--scoring", choices=sorted(SCORERS), default="blend",
                        help="ranking/confidence: blend (default) or nearest (plain nearest phrasing)")


def _check_target(value: float) -> None:
    if not 0 <= value <= 1:
        raise FAQBotError(f"--target-abstention must be between 0 and 1, got {value}")


def _index_for(source: Path, settings: Settings) -> tuple[FAQIndex, Any]:
    embedder = make_embedder(settings)
    if source.is_dir():
        return load_index(source), embedder
    return with_auto_threshold(build_index_from_source(source, embedder)), embedder


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Measure; print a summary or, with ``--json``, one object."""
    _check_target(args.target_abstention)
    if args.depth < 3:
        raise FAQBotError("--depth must be at least 3 (hit@3 needs three ranks)")
    queries = load_queries(args.queries)
    calibration_rows = load_queries(args.calibration) if args.calibration else None
    start = time.perf_counter()
    index, embedder = _index_for(args.faqs, settings)
    built = time.perf_counter()
    known = {faq.id for faq in index.faqs}
    check_faq_ids(args.queries, queries, known)
    engine = FAQEngine(index, embedder, min_score=settings.faq_min_score, scoring=args.scoring)
    ready = time.perf_counter()
    calibration = None
    if calibration_rows is not None:
        check_faq_ids(args.calibration, calibration_rows, known)
        calibration = calibrate(engine, calibration_rows, args.target_abstention)
        engine.threshold, engine.threshold_source = calibration.threshold, f"calibration on {args.calibration.name}"
    calibrated = time.perf_counter()
    report = evaluate(engine, queries, args.depth)
    report.calibration = calibration.to_dict() if calibration else None
    report.timings = {
        "index_seconds": built - start, "engine_seconds": ready - built, "calibration_seconds": calibrated - ready,
        **report.timings,
    }
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        print(format_report(report, index, args))
    return 0


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def format_report(report: EvalReport, index: FAQIndex, args: argparse.Namespace) -> str:
    """The human summary of ``faq-bot eval``."""
    m, t = report.metrics, report.timings
    if report.calibration:
        c = report.calibration
        origin = (f"calibrated on {args.calibration.name}: {c['abstention']:.3f} abstention on its "
                  f"{c['out_of_scope']} out-of-scope rows (target {c['target_abstention']:.2f})")
    else:
        origin = {
            "FAQ_MIN_SCORE": "from FAQ_MIN_SCORE",
            "calibration": "the labelled calibration stored in the index",
            "automatic": "automatic: estimated from the FAQs' own phrasings, no labels",
        }.get(report.threshold_source, report.threshold_source)
    lines = [
        f"FAQs: {args.faqs.name} ({len(index.faqs)} FAQs, {len(index.texts)} phrasings), scoring {args.scoring}",
        f"questions: {args.queries.name} ({m.in_scope} in scope, {m.out_of_scope} out of scope)",
        f"threshold: {report.threshold:.4f} ({origin})",
        "",
        f"  top-1 accuracy        {_fmt(m.top1_accuracy)}",
        f"  hit@3                 {_fmt(m.hit_at_3)}",
        f"  MRR@{args.depth:<17} {_fmt(m.mrr)}",
        f"  out-of-scope abstain  {_fmt(m.oos_abstention)}",
        f"  answered and correct  {_fmt(m.answered_correct)}",
        f"  card, right FAQ in it {_fmt(m.card_correct)}",
        "",
        "outcomes (answered / card / abstained): "
        + "; ".join(f"{scope.replace('_', ' ')} " + " / ".join(str(n) for n in counts.values())
                    for scope, counts in m.outcomes.items()),
        "",
        f"timings: index {t['index_seconds']:.1f}s, engine {t['engine_seconds']:.2f}s, "
        f"calibration {t['calibration_seconds']:.1f}s, questions {t['answer_seconds']:.1f}s "
        f"({t['ms_per_query']:.2f} ms each, embedding included)",
    ]
    return "\n".join(lines)


def cmd_calibrate(args: argparse.Namespace, settings: Settings) -> int:
    """Choose the threshold on CAL and write it into INDEX_DIR's metadata."""
    _check_target(args.target_abstention)
    if not args.index.is_dir():
        raise FAQBotError(f"{args.index} is not a local index folder: calibrate writes into the folder's "
                          "metadata (build one with 'faq-bot index build', push it after calibrating)")
    index = load_index(args.index)
    if args.calibration is None:
        scorer = make_scorer(index, args.scoring)
        auto = estimate_threshold(index, scorer)
        if auto is None:
            raise FAQBotError(f"{args.index} holds one FAQ: an automatic threshold needs at least two")
        write_meta(args.index, replace(index.meta, min_score=None, calibration={}, auto_threshold=auto.to_dict()))
        store_state(index, args.index)  # an index built before the scorer's set-up was stored gets it
        print(f"wrote automatic threshold {auto.threshold:.4f} ({auto.scoring}, {auto.method}, "
              f"{auto.samples} phrasings) to {args.index}")
        return 0
    rows = load_queries(args.calibration)
    check_faq_ids(args.calibration, rows, {faq.id for faq in index.faqs})
    # min_score=0: the old threshold is being replaced, so its origin does not matter here
    engine = FAQEngine(index, make_embedder(settings), min_score=0.0, scoring=args.scoring)
    result = calibrate(engine, rows, args.target_abstention)
    details = {**result.to_dict(), "calibration_file": args.calibration.name,
               "calibrated_at": datetime.now(UTC).isoformat(timespec="seconds")}
    write_meta(args.index, replace(index.meta, min_score=result.threshold, calibration=details))
    store_state(index, args.index)  # an index built before the scorer's set-up was stored gets it
    print(f"wrote threshold {result.threshold:.4f} ({result.scoring}) to {args.index}: "
          f"{result.abstention:.3f} abstention on {result.out_of_scope} out-of-scope rows "
          f"(target {result.target_abstention:.2f}), answered and correct {_fmt(result.answered_correct)} "
          f"of {result.in_scope} in-scope rows")
    return 0
