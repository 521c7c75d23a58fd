"""Local embedding speed: single-question latency (p50/p99) and batch
throughput of ``LocalEmbedder``, beside the same model called directly
through ``SentenceTransformer.encode`` in the same run (the baseline: the
ratio is what our wrapper costs)."""

from __future__ import annotations

import time

from bench.common import percentile, table, time_calls
from faq_core.embedders import LocalEmbedder
from faq_core.settings import DEFAULT_MODEL

SINGLE_CALLS = 200
BATCH_TEXTS = 512
BATCH_ROUNDS = 3

_OPENINGS = ["How do I", "Can I", "Where can I", "What happens if I", "Is it possible to", "Who do I ask to",
             "When should I", "Why can't I"]
_ACTIONS = ["change", "cancel", "renew", "report", "pay for", "sign up for", "get a copy of", "update"]
_OBJECTS = ["my Medicare card", "the Part B premium", "my home address", "a lost debit card", "the guest wifi",
            "my parking permit", "the travel expense form", "my pension contributions", "a replacement badge"]
_ENDINGS = ["", " online", " this month", " before I retire", " if I live abroad", " from my phone"]


def questions(count: int) -> list[str]:
    """``count`` distinct, question-like texts of realistic length."""
    out = []
    for i in range(count):
        out.append(
            f"{_OPENINGS[i % len(_OPENINGS)]} {_ACTIONS[(i // 8) % len(_ACTIONS)]} "
            f"{_OBJECTS[(i // 64) % len(_OBJECTS)]}{_ENDINGS[i % len(_ENDINGS)]}? (case {i})"
        )
    return out


def run() -> None:
    """Print latency and throughput tables."""
    embedder = LocalEmbedder(DEFAULT_MODEL)
    start = time.perf_counter()
    embedder.warm_up()
    load = time.perf_counter() - start
    model = embedder._load()
    texts = questions(max(SINGLE_CALLS, BATCH_TEXTS))

    def encode(batch: list[str]) -> object:
        return model.encode(batch, batch_size=32, normalize_embeddings=True, convert_to_numpy=True,
                            show_progress_bar=False)

    # Interleaved, one question each in turn, so both see the same machine load.
    ours, raw = [], []
    for i in range(SINGLE_CALLS + 5):
        text = [texts[i % len(texts)]]
        a = time.perf_counter()
        embedder.embed(text)
        b = time.perf_counter()
        encode(text)
        c = time.perf_counter()
        if i >= 5:  # warm-up
            ours.append(b - a)
            raw.append(c - b)
    batch = texts[:BATCH_TEXTS]
    ours_batch = raw_batch = float("inf")
    for _ in range(BATCH_ROUNDS):
        ours_batch = min(ours_batch, time_calls(lambda: embedder.embed(batch), repeat=1, warmup=0)[0])
        raw_batch = min(raw_batch, time_calls(lambda: encode(batch), repeat=1, warmup=0)[0])
    print(f"\n## Local embedding ({DEFAULT_MODEL}, CPU; model load {load:.1f}s)")
    print(table(
        ["", "p50 ms", "p99 ms", f"batch of {BATCH_TEXTS}: texts/s"],
        [
            ["LocalEmbedder.embed", percentile(ours, 50) * 1000, percentile(ours, 99) * 1000,
             BATCH_TEXTS / ours_batch],
            ["SentenceTransformer.encode (baseline)", percentile(raw, 50) * 1000, percentile(raw, 99) * 1000,
             BATCH_TEXTS / raw_batch],
            ["ratio (ours / baseline)", f"{percentile(ours, 50) / percentile(raw, 50):.2f}x",
             f"{percentile(ours, 99) / percentile(raw, 99):.2f}x", f"{raw_batch / ours_batch:.2f}x"],
        ],
    ))
    print(f"({SINGLE_CALLS} single questions, one at a time; batch time is the best of {BATCH_ROUNDS} rounds, "
          f"{embedder.batch_size} texts per model call)")


if __name__ == "__main__":
    run()
