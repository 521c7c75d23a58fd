"""Reloading a new FAQ revision beside the serving engine, at 100,000 phrasings.

Two synthetic revisions (``bench.scoring.synthetic_index``: 10,000 FAQs of 10
phrasings, 384 dimensions, automatic threshold stored) are saved as local
index folders; the engine serves the first and the :class:`~bot.serving.reload.Reloader`
swaps to the second when its folder changes (the same load a Hub revision
takes once its files are in the Hub cache).

- Baseline: a cold start's load (``load_index`` + ``FAQEngine``), what a
  restart pays before it can answer (without loading the model).
- Swap: the reloader's whole check (digest, load beside, swap); and the swap
  itself (one assignment), the only moment questions could notice.
- Questions answered during the reload by a client thread: their p50/p99
  latency against the same client before the reload.
- Memory (``tracemalloc``: numpy reports its arrays to it): the steady state
  serving one revision, the peak during the reload, and after it, which shows
  the old engine released.
"""

from __future__ import annotations

import dataclasses
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np

from bench.common import percentile, table
from bench.scoring import DIM, SyntheticEmbedder, synthetic_index, unit_rows
from bot.serving.holder import ServingEngine
from bot.serving.reload import Check, Reloader
from bot.settings import BotSettings
from faq_core.engine import FAQEngine
from faq_core.index import load_index, save_index
from faq_core.threshold import with_auto_threshold

FAQS, PER_FAQ = 10_000, 10
QUESTIONS = 64
MB = 1024 * 1024


def _revision(seed: int, folder: Path) -> Path:
    index = with_auto_threshold(synthetic_index(FAQS, PER_FAQ, np.random.default_rng(seed)))
    return save_index(index, folder)


def run() -> None:
    """Print the table."""
    with tempfile.TemporaryDirectory(prefix="faq-bot-bench-reload-") as tmp:
        served, v1, v2 = Path(tmp) / "served", Path(tmp) / "v1", Path(tmp) / "v2"
        _revision(1, v1)
        _revision(2, v2)
        save_index(load_index(v1), served)
        rng = np.random.default_rng(3)
        texts = [f"question {i}" for i in range(QUESTIONS)]
        vectors = unit_rows(rng.standard_normal((QUESTIONS, DIM), dtype=np.float32))
        embedder = SyntheticEmbedder(dict(zip(texts, vectors, strict=True)))

        start = time.perf_counter()
        cold = FAQEngine(load_index(served), embedder)
        cold_seconds = time.perf_counter() - start
        del cold

        serving = ServingEngine(FAQEngine(load_index(served), embedder))
        reloader = Reloader(serving, dataclasses.replace(BotSettings(), faq_index=str(served)), interval=3600)
        builds = iter([v2, v1, v2])

        def new_build() -> None:  # a new build lands in the served folder, as 'faq-bot index build --out' does
            save_index(load_index(next(builds)), served)

        def ask(latencies: list[float], stop: threading.Event, limit: int | None = None) -> None:
            i = 0
            while not stop.is_set() and (limit is None or i < limit):
                started = time.perf_counter()
                serving.answer_many([texts[i % QUESTIONS]], 3)
                latencies.append(time.perf_counter() - started)
                i += 1

        # 1. the reload alone, timed like the cold load
        new_build()
        start = time.perf_counter()
        assert reloader.check_now() is Check.SWAPPED
        reload_seconds = time.perf_counter() - start

        # 2. questions asked before, and during a reload, by one client
        before: list[float] = []
        ask(before, threading.Event(), limit=100)
        new_build()
        during: list[float] = []
        stop = threading.Event()
        client = threading.Thread(target=ask, args=(during, stop))
        client.start()
        assert reloader.check_now() is Check.SWAPPED
        stop.set()
        client.join()

        # 3. memory: steady, peak during a reload, after it
        tracemalloc.start()
        serving.swap(FAQEngine(load_index(served), embedder), serving.revision)  # the served engine, traced
        steady = tracemalloc.get_traced_memory()[0]
        new_build()
        tracemalloc.reset_peak()
        assert reloader.check_now() is Check.SWAPPED
        peak, after = tracemalloc.get_traced_memory()[1], tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()

        old = serving.current
        start = time.perf_counter()
        for _ in range(10_000):
            serving.swap(old, serving.revision)
        swap_us = (time.perf_counter() - start) / 10_000 * 1e6

    print(f"\n## Reload: a new revision beside the serving engine ({FAQS * PER_FAQ:,} phrasings, {DIM} dimensions)\n")
    print(table(["measure", "value", "vs baseline"], [
        ["cold load: load_index + FAQEngine s (baseline)", f"{cold_seconds:.2f}", "1.00x"],
        ["reload check: digest + load beside + swap s", f"{reload_seconds:.2f}",
         f"{reload_seconds / cold_seconds:.2f}x"],
        ["the swap itself (one assignment) us", f"{swap_us:.2f}", "-"],
        ["question p50 ms before / during the reload",
         f"{percentile(before, 50) * 1e3:.2f} / {percentile(during, 50) * 1e3:.2f}", f"{len(during)} asked during"],
        ["question p99 ms before / during the reload",
         f"{percentile(before, 99) * 1e3:.2f} / {percentile(during, 99) * 1e3:.2f}", "no question failed"],
        ["memory serving one revision MB (baseline)", f"{steady / MB:.0f}", "1.00x"],
        ["memory peak during the reload MB", f"{peak / MB:.0f}", f"{peak / steady:.2f}x"],
        ["memory after the reload MB (old engine released)", f"{after / MB:.0f}", f"{after / steady:.2f}x"],
    ]))


if __name__ == "__main__":
    run()
