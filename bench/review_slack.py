"""What the review's Slack surfaces cost on a big store (``python -m bench review_slack``).

On the review loop's worst case (100,000 recorded questions, all misses,
CLINC150 texts with a Zipf-like repetition over 29 days, built by
:mod:`bench.review_loop`) plus 2,000 not-helpful votes, in one run:

- the baseline: ``review()`` (what ``faq-bot review`` computes);
- an admin's App Home: the review again (what a Home open or a decision
  runs, on a worker) and, apart, laying out its section and the Home view;
- the digest of the last 7 days (two periods of rates, the clusters of the
  period, the least helpful FAQs) and its text.

Each is reported in seconds and as a ratio to the baseline measured in the
same run, so load on the machine moves all three alike. Embeddings come from
the on-disk cache (``bench.vector_cache``).
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import table
from bench.datasets import WORK, exit_if_no_data
from bench.review_loop import _recorded_store, held_out_intents, load_clinc, write_source
from bench.vector_cache import CachedEmbedder
from bot.features.digest import Period, build_digest, digest_text
from bot.features.review.clusters import review
from bot.slack.blocks import home_view
from bot.slack.review_views import review_section
from bot.store.database import Feedback, Store
from faq_core.embedders import make_embedder
from faq_core.engine import FAQEngine
from faq_core.index import build_index_from_source
from faq_core.settings import load_settings
from faq_core.threshold import with_auto_threshold

VOTES = 2000


def _votes(store: Store, engine: FAQEngine) -> None:
    now = datetime.now(UTC)
    faqs = engine.index.faqs
    rows = [{"answer_id": f"a{n}", "user_id": f"U{n}", "query": "q", "faq_id": faqs[n % 17].id, "score": 0.5,
             "channel_id": "C1", "vote": "not_helpful", "voted_at": now - timedelta(hours=n % 150)}
            for n in range(VOTES)]
    with store.transaction() as connection:
        connection.execute(Feedback.__table__.insert(), rows)


def run() -> None:
    exit_if_no_data()
    settings = load_settings({"EMBEDDING_BACKEND": "local"}, dotenv=False)
    embedder = CachedEmbedder(make_embedder(settings), WORK / "vectors")
    clinc = load_clinc()
    intents = sorted(clinc.train)
    held = set(held_out_intents(intents))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = write_source(folder / "faqs.jsonl", clinc, [i for i in intents if i not in held])
        engine = FAQEngine(with_auto_threshold(build_index_from_source(source, embedder)), embedder)
        rows, distinct = _recorded_store(folder / "recorded.db", embedder, engine)
        store = Store(f"sqlite:///{folder / 'recorded.db'}")
        _votes(store, engine)
        t0 = time.perf_counter()
        clusters = review(store, engine)
        t1 = time.perf_counter()
        again = review(store, engine)  # what a Home open or a decision runs (caches now warm)
        t1b = time.perf_counter()
        view = home_view(engine.info, "UBOT", review_section(again, engine.index, days=30))
        t2 = time.perf_counter()
        now = datetime.now(UTC)
        digest = build_digest(store, engine, Period(now - timedelta(days=7), now))
        text = digest_text(digest)
        t3 = time.perf_counter()
        store.close()
    baseline = t1 - t0
    print(f"\n## review in Slack on {rows:,} recorded questions ({distinct:,} distinct, all misses), "
          f"{VOTES:,} not-helpful votes")
    print(table(["what", "seconds", "x review()"], [
        ["review() (baseline: faq-bot review's work)", f"{baseline:.1f}", "1.00"],
        ["review() again (warm)", f"{t1b - t1:.1f}", f"{(t1b - t1) / baseline:.2f}"],
        ["App Home layout: review section + Home view", f"{t2 - t1b:.3f}", f"{(t2 - t1b) / baseline:.3f}"],
        ["digest of the last 7 days + its text", f"{t3 - t2:.1f}", f"{(t3 - t2) / baseline:.2f}"],
    ]))
    print(f"clusters: {len(clusters):,}; Home view: {len(view['blocks'])} blocks (Slack's limit 100); "
          f"digest: {digest.now.seen:,} questions seen, {len(text):,} characters")


if __name__ == "__main__":
    run()
