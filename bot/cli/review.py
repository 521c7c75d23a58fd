"""``faq-bot review``: list the clusters of misses, decide on them, apply the decisions.

The parser lives in :mod:`bot.cli.main` (which imports this module only when
``review`` runs); this module does the work and the printing.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from bot.cli.tenants import resolve_scope
from bot.errors import ReviewError
from bot.features.review.clusters import Cluster, as_jsonl, find_cluster, review, textless_misses
from bot.features.review.decisions import ACCEPT, NEW, Decision, accept, decisions, dismiss, new_faq
from bot.settings import BotSettings
from bot.store.database import open_store
from faq_core.engine import FAQEngine
from faq_core.wording import counted

EngineFor = Callable[[argparse.Namespace, BotSettings], FAQEngine]
EXAMPLE_CHARS = 100


def _short(text: str, limit: int = EXAMPLE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _day(cluster: Cluster) -> str:
    return cluster.last_asked.date().isoformat() if cluster.last_asked else "-"


def print_table(clusters: Sequence[Cluster], out: TextIO) -> None:
    """Clusters as blocks people read in a terminal, most people first."""
    if not clusters:
        print("no missed questions to review in this window", file=out)
        return
    for rank, cluster in enumerate(clusters, start=1):
        reasons = ", ".join(f"{reason} {n}" for reason, n in cluster.reasons.items())
        people = counted(cluster.people, "person", "people")
        print(f"#{rank}  cluster {cluster.id}  {people}, asked {cluster.asked}x, "
              f"last {_day(cluster)}  ({reasons})", file=out)
        print(f"    suggest: {cluster.suggestion.describe()}", file=out)
        for example in cluster.examples:
            print(f"    - {_short(example.text)}  ({example.asked}x)", file=out)
        more = len(cluster.texts) - len(cluster.examples)
        if more > 0:
            print(f"    … and {more} more", file=out)
    print("\ndecide: faq-bot review accept CLUSTER [--faq ID] | new CLUSTER --answer TEXT [--question Q] "
          "[--url URL] | dismiss CLUSTER", file=out)


def print_csv(clusters: Sequence[Cluster], out: TextIO) -> None:
    """One CSV row per cluster (questions joined with `` | ``)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["rank", "cluster", "people", "asked", "last_asked", "suggestion", "faq_id", "why",
                     "reasons", "questions"])
    for rank, c in enumerate(clusters, start=1):
        writer.writerow([rank, c.id, c.people, c.asked, c.last_asked.isoformat() if c.last_asked else "",
                         c.suggestion.kind, c.suggestion.faq_id or "", c.suggestion.why,
                         "; ".join(f"{r} {n}" for r, n in c.reasons.items()), " | ".join(c.texts)])


def _cluster(clusters: Sequence[Cluster], cluster_id: str) -> Cluster:
    found = find_cluster(clusters, cluster_id)
    if found is None:
        raise ReviewError(f"no cluster {cluster_id!r} in this review (ids change only when new questions join; "
                          "run 'faq-bot review' with the same --days for the current ones)")
    return found


def _decided(decision: Decision, cluster: Cluster) -> str:
    questions = counted(len(decision.texts), "question")
    what = {ACCEPT: f"{questions} accepted as phrasings of {decision.faq_id}",
            NEW: f"new FAQ drafted: {decision.question!r} with {counted(len(decision.texts), 'phrasing')}"}
    return (f"cluster {cluster.id}: " + what.get(decision.action, f"{questions} dismissed")
            + ("; run 'faq-bot review apply --source SOURCE --out NEW' to write them" if decision.action != "dismiss"
               else ""))


def run(args: argparse.Namespace, settings: BotSettings, engine_for: EngineFor, out: TextIO | None = None) -> int:
    """Do ``faq-bot review [ACTION]``; returns the exit status."""
    out = out or sys.stdout
    action = getattr(args, "review_command", None)
    store = open_store(settings.database_url, create=False)
    try:
        scope = resolve_scope(store, args)
        tenant = scope.tenant
        if action == "apply":
            from bot.features.review.apply import apply_decisions

            report = apply_decisions(args.source, args.out, decisions(store, (ACCEPT, NEW), scope),
                                     force=args.force)
            print(report.describe(args.out), file=out)
            return 0
        if action == "decisions":
            made = decisions(store, scope=scope)
            if not made:
                print("no decisions yet: 'faq-bot review' lists the clusters to decide on "
                      "(accept, new or dismiss)", file=out)
            for d in made:
                target = d.faq_id or d.question or ""
                print(f"{d.decided_at:%Y-%m-%d %H:%M}  {d.action:<8} cluster {d.cluster}  {target}  "
                      f"({counted(len(d.texts), 'question')}{', by ' + d.decided_by if d.decided_by else ''})",
                      file=out)
            return 0
        engine = engine_for(args, settings)
        clusters = review(store, engine, days=args.days, scope=scope)
        if action is None:
            shown = clusters[:args.limit] if args.limit else clusters
            if args.format == "jsonl":
                for line in as_jsonl(shown):
                    print(line, file=out)
            elif args.format == "csv":
                print_csv(shown, out)
            else:
                print_table(shown, out)
            textless = textless_misses(store, days=args.days, scope=scope)
            if textless and not clusters:
                print(f"({counted(textless, 'abstention')} in this window {'was' if textless == 1 else 'were'} "
                      "recorded without text "
                      "(FAQ_RECORD_TEXT=false, or past the retention period): nothing to cluster)", file=sys.stderr)
            return 0
        cluster = _cluster(clusters, args.cluster)
        by = args.by or None
        if action == "accept":
            faq_id = args.faq or cluster.suggestion.faq_id
            if not faq_id:
                raise ReviewError(f"cluster {cluster.id} is suggested as a new FAQ: name the FAQ with --faq ID, "
                                  "or draft one with 'faq-bot review new'")
            if engine.index.faq_by_id(faq_id) is None:
                raise ReviewError(f"no FAQ {faq_id!r} in the index {engine.info.display_name}")
            decision = accept(store, cluster.id, cluster.texts, faq_id, decided_by=by, tenant=tenant)
        elif action == "new":
            question = args.question or cluster.texts[0]
            decision = new_faq(store, cluster.id, cluster.texts, question=question, answer=args.answer,
                               url=args.url, decided_by=by, tenant=tenant)
        else:
            decision = dismiss(store, cluster.id, cluster.texts, decided_by=by, tenant=tenant)
        print(_decided(decision, cluster), file=out)
        return 0
    finally:
        store.close()
