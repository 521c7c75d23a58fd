"""Several FAQs in one process: 200 small indexes routed to 200 channels,
questions spread over them, under a memory budget.

Each index has 1,000 phrasings (100 FAQs x 10), synthetic unit vectors
around a centre per FAQ, saved as a real index folder and read back with
``load_index``; the embedder is a hash of the text to a unit vector (the
model is not what is measured: it is shared by every index). Questions go
through the real path: the routes table in an SQLite store, the engine
registry (single-flight loads, LRU eviction under the budget) and the
Answerer. The engines use the plain ``nearest`` scorer and a set threshold:
the default blend scorer trains its adapter when an engine is set up, which
takes seconds for each 1,000-phrasing index (measured once, first, and
printed as "blend set-up"): 200 of those loads would take the run an hour.
That set-up is what a cold question pays in the bot today.

- steady: questions over the 200 channels (a few busy, most rarely asked,
  Zipf-like), after one question in each: the RSS it settles at above the
  process before any index, against the budget; p50/p99 for a question whose
  index was loaded (warm) and one whose index had been evicted (cold: its
  load is in the reply), and the ratio.
- burst: 100 questions at once to one evicted index: how many loads they
  trigger (must be 1) and how long the last one waits.

``BENCH_ROUTING_INDEXES`` and ``BENCH_ROUTING_QUESTIONS`` make it smaller for a quick run.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import percentile, table

INDEXES = int(os.environ.get("BENCH_ROUTING_INDEXES", "200"))
QUESTIONS = int(os.environ.get("BENCH_ROUTING_QUESTIONS", "2000"))
FAQS, PER_FAQ, DIM = 100, 10, 384
BUDGET_MB = float(os.environ.get("BENCH_ROUTING_BUDGET_MB", "96"))
BURST = 100
MODEL = "synthetic/hashed-unit-vectors"
WORK = Path(__file__).resolve().parent / ".work" / "routing"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _embedder() -> Any:
    from faq_core.embedders.base import Embedder, unit_rows

    class HashedEmbedder(Embedder):
        """A unit vector per text from its hash: costs microseconds, same for every index."""

        backend = "local"

        def __init__(self) -> None:
            super().__init__(MODEL)
            self.dim = DIM

        def _embed_batch(self, texts: list[str]) -> np.ndarray:
            rows = [np.random.default_rng(int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest()))
                    .standard_normal(DIM, dtype=np.float32) for t in texts]
            return unit_rows(np.stack(rows))

    return HashedEmbedder()


def build_indexes(embedder: Any) -> list[Path]:
    """INDEXES folders of FAQS x PER_FAQ synthetic phrasings (kept in bench/.work between runs)."""
    from faq_core.embedders.base import normalize_in_place
    from faq_core.faqs import FAQ
    from faq_core.index import META_FILE, FAQIndex, IndexMeta, save_index

    folders = []
    for n in range(INDEXES):
        folder = WORK / f"index-{n:03d}"
        folders.append(folder)
        if (folder / META_FILE).exists():
            continue
        rng = np.random.default_rng(n)
        owner = np.repeat(np.arange(FAQS), PER_FAQ)
        centres = rng.standard_normal((FAQS, DIM), dtype=np.float32)
        vectors = centres[owner] + 0.6 * rng.standard_normal((FAQS * PER_FAQ, DIM), dtype=np.float32)
        normalize_in_place(vectors)
        faqs = [FAQ(f"t{n}-faq-{i}", f"Team {n} question {i}?", answer=f"Team {n} answer {i}.",
                    alternates=tuple(f"Team {n}, another way to ask {i}, take {j}?" for j in range(1, PER_FAQ)))
                for i in range(FAQS)]
        meta = IndexMeta(model_id=MODEL, dim=DIM, faq_count=FAQS, phrasing_count=FAQS * PER_FAQ)
        index = FAQIndex(faqs, [t for f in faqs for t in f.phrasings], vectors, owner, meta)
        save_index(index, folder)
    return folders


def zipf_channels(count: int, seed: int = 11) -> list[int]:
    """``count`` channel numbers, a few busy and most rarely asked (Zipf, s = 1.1)."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, INDEXES + 1) ** 1.1
    return list(rng.choice(INDEXES, size=count, p=weights / weights.sum()))


def run() -> None:
    from bot.conversation.answering import Answerer, Asked
    from bot.conversation.routing import start_routing
    from bot.serving.holder import ServingEngine
    from bot.serving.refs import IndexRef
    from bot.serving.registry import MB, EngineRegistry
    from bot.settings import BotSettings
    from bot.store.database import Store
    from bot.store.routes import RouteTable
    from faq_core.engine import FAQEngine
    from faq_core.index import load_index

    WORK.mkdir(parents=True, exist_ok=True)
    embedder = _embedder()
    started = time.perf_counter()
    folders = build_indexes(embedder)
    built = time.perf_counter() - started
    begin = time.perf_counter()
    FAQEngine(load_index(folders[0]), embedder, min_score=0.5)  # the default (blend) scorer: what the bot sets up
    blend_setup = time.perf_counter() - begin

    def load(ref: IndexRef) -> FAQEngine:
        return FAQEngine(load_index(ref.location), embedder, scoring="nearest", min_score=0.5)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/routes.db")
        settings = BotSettings(faq_memory_budget_mb=BUDGET_MB)
        registry = EngineRegistry(load, budget_bytes=int(BUDGET_MB * MB))
        table_ = RouteTable(store)
        for n, folder in enumerate(folders):
            table_.set("slack", "T1", f"C{n:04d}", str(folder))
        deployment = ServingEngine(load(IndexRef(str(folders[0]))))  # the process's own FAQ_INDEX
        routing = start_routing(settings, deployment, table_, registry)
        answerer = Answerer(deployment, routing=routing)
        baseline = rss_mb()
        one = registry.get(str(folders[1]))
        per_index_mb = next(s.size_bytes for s in registry.states() if s.ref == str(folders[1])) / MB
        del one
        asked_n = [0]

        def ask(channel: int) -> tuple[float, bool]:
            loads = registry.counts.loads
            asked_n[0] += 1
            begin = time.perf_counter()
            answerer.reply(f"Team {channel} question {asked_n[0] % FAQS}, asked #{asked_n[0]}?", bot_user_id=None,
                           asked=Asked("slack", "channel", "T1", f"C{channel:04d}"))
            return time.perf_counter() - begin, registry.counts.loads != loads

        for channel in range(INDEXES):  # one question in each channel: every index loaded once
            ask(channel)
        warm: list[float] = []
        cold: list[float] = []
        peak = rss_mb()
        for channel in zipf_channels(QUESTIONS):
            seconds, loaded = ask(int(channel))
            (cold if loaded else warm).append(seconds)
            peak = max(peak, rss_mb())
        steady = rss_mb()
        loaded_mb = registry.loaded_bytes() / MB

        # a burst of 100 questions to one evicted index
        loaded_now = {s.ref for s in registry.states()}
        target = next(n for n in range(INDEXES - 1, -1, -1) if str(folders[n]) not in loaded_now)
        gate = threading.Barrier(BURST)
        burst: list[float] = []
        loads_before = registry.counts.loads

        def burst_one() -> None:
            gate.wait()
            begin = time.perf_counter()
            answerer.reply(f"Team {target} question 3?", bot_user_id=None,
                           asked=Asked("slack", "channel", "T1", f"C{target:04d}"))
            burst.append(time.perf_counter() - begin)

        threads = [threading.Thread(target=burst_one) for _ in range(BURST)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        burst_loads = registry.counts.loads - loads_before
        store.close()

    print(f"\n## Several FAQs: {INDEXES} indexes of {FAQS * PER_FAQ:,} phrasings routed to {INDEXES} channels, "
          f"FAQ_MEMORY_BUDGET_MB={BUDGET_MB:g}")
    print(f"(indexes built or reused in {built:.1f} s; about {per_index_mb:.2f} MB each as the registry "
          f"estimates, {INDEXES * per_index_mb:.0f} MB for all {INDEXES}; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f})")
    print(table(["", "value"], [
        ["RSS before any routed index (model stand-in, store, one FAQ_INDEX engine)", f"{baseline:.0f} MB"],
        [f"RSS steady after {QUESTIONS:,} questions (peak)", f"{steady:.0f} MB ({peak:.0f} MB)"],
        ["  above the process before any index, against the budget",
         f"{steady - baseline:.0f} MB of {BUDGET_MB:g} MB ({(steady - baseline) / BUDGET_MB:.2f}x)"],
        ["  the registry's estimate of what is loaded", f"{loaded_mb:.0f} MB, {len(loaded_now)} indexes"],
        ["loads / evictions so far", f"{registry.counts.loads} / {registry.counts.evictions}"],
    ]))
    print(table(["reply latency", "questions", "p50 ms", "p99 ms"], [
        ["index loaded (warm)", len(warm), percentile(warm, 50) * 1000, percentile(warm, 99) * 1000],
        ["index evicted (cold: loaded for it)", len(cold), percentile(cold, 50) * 1000, percentile(cold, 99) * 1000],
        [f"burst of {BURST} to one evicted index", len(burst), percentile(burst, 50) * 1000,
         percentile(burst, 99) * 1000],
    ]))
    print(f"blend set-up of one {FAQS * PER_FAQ:,}-phrasing index (what a cold question pays with the default "
          f"scorer): {blend_setup * 1000:.0f} ms")
    if warm and cold:
        print(f"cold / warm p50: {percentile(cold, 50) / percentile(warm, 50):.0f}x")
    print(f"loads triggered by the burst of {BURST}: {burst_loads} (must be 1)")


if __name__ == "__main__":
    run()
