"""Local embedding: single-question latency (p50/p99) and batch throughput of
the default local backend (ONNX Runtime) beside sentence-transformers
(``local-torch``, the previous path) in the same process, their agreement
(cosine over every BANKING77 text), and embed+rank per question with and
without keeping single-question ranking off the BLAS thread pool."""

from __future__ import annotations

import time

import numpy as np

from bench.common import percentile, table, time_calls
from faq_core import blas
from faq_core.embedders import LocalEmbedder, OnnxEmbedder
from faq_core.settings import DEFAULT_MODEL, load_settings

SINGLE_CALLS = 200
BATCH_TEXTS = 512
BATCH_ROUNDS = 3
FIGHT_SIZES = (10_000, 30_000, 100_000)
FIGHT_CALLS = 60
TARGET_SINGLE = 2.5
TARGET_BATCH = 1.5

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
    """Print latency, throughput, agreement and embed+rank tables."""
    onnx = OnnxEmbedder(DEFAULT_MODEL, cache_dir=load_settings().faq_cache_dir)
    start = time.perf_counter()
    onnx.warm_up()
    onnx_load = time.perf_counter() - start
    torch = LocalEmbedder(DEFAULT_MODEL)
    start = time.perf_counter()
    torch.warm_up()
    torch_load = time.perf_counter() - start
    texts = questions(max(SINGLE_CALLS, BATCH_TEXTS))

    # Interleaved, one question each in turn, so both see the same machine load.
    ours, previous = [], []
    for i in range(SINGLE_CALLS + 5):
        text = [texts[i % len(texts)]]
        a = time.perf_counter()
        onnx.embed(text)
        b = time.perf_counter()
        torch.embed(text)
        c = time.perf_counter()
        if i >= 5:  # warm-up
            ours.append(b - a)
            previous.append(c - b)
    batch = texts[:BATCH_TEXTS]
    ours_batch = previous_batch = float("inf")
    for _ in range(BATCH_ROUNDS):
        ours_batch = min(ours_batch, time_calls(lambda: onnx.embed(batch), repeat=1, warmup=0)[0])
        previous_batch = min(previous_batch, time_calls(lambda: torch.embed(batch), repeat=1, warmup=0)[0])
    single_ratio = percentile(previous, 50) / percentile(ours, 50)
    batch_ratio = previous_batch / ours_batch
    print(f"\n## Local embedding ({DEFAULT_MODEL}, CPU; load: ONNX {onnx_load:.1f}s, "
          f"sentence-transformers {torch_load:.1f}s; runtime {onnx.runtime})")
    print(table(
        ["", "p50 ms", "p99 ms", f"batch of {BATCH_TEXTS}: texts/s"],
        [
            ["ONNX Runtime (local)", percentile(ours, 50) * 1000, percentile(ours, 99) * 1000,
             BATCH_TEXTS / ours_batch],
            ["sentence-transformers (local-torch, previous)", percentile(previous, 50) * 1000,
             percentile(previous, 99) * 1000, BATCH_TEXTS / previous_batch],
            ["previous / ONNX", f"{single_ratio:.2f}x",
             f"{percentile(previous, 99) / percentile(ours, 99):.2f}x", f"{batch_ratio:.2f}x"],
        ],
    ))
    print(f"({SINGLE_CALLS} single questions, one at a time; batch time is the best of {BATCH_ROUNDS} rounds, "
          f"{onnx.batch_size} texts per model call)")
    print(f"targets: single >= {TARGET_SINGLE:g}x -> {'PASS' if single_ratio >= TARGET_SINGLE else 'FAIL'}; "
          f"batch >= {TARGET_BATCH:g}x -> {'PASS' if batch_ratio >= TARGET_BATCH else 'FAIL'}")
    agreement(onnx, torch)
    thread_fight(onnx, texts)


def agreement(onnx: OnnxEmbedder, torch: LocalEmbedder) -> None:
    """Cosine of the two backends' vectors over every BANKING77 text."""
    from bench.datasets import data_root

    path = data_root() / "banking77"
    if not path.is_dir():
        print(f"(agreement skipped: no {path})")
        return
    import csv

    texts: set[str] = set()
    for name in ("train.csv", "test.csv"):
        with (path / name).open(encoding="utf-8", newline="") as handle:
            texts.update(row["text"] for row in csv.DictReader(handle))
    ordered = sorted(texts)
    cosines = np.sum(onnx.embed(ordered) * torch.embed(ordered), axis=1)
    print(f"agreement over {len(ordered):,} BANKING77 texts: min cosine {cosines.min():.6f}, "
          f"mean {cosines.mean():.7f} (target >= 0.9999 -> {'PASS' if cosines.min() >= 0.9999 else 'FAIL'})")


def thread_fight(onnx: OnnxEmbedder, texts: list[str]) -> None:
    """Per question: embed alone, embed+rank with ranking on one BLAS thread
    (the default), and embed+rank on the BLAS pool (the previous path)."""
    from bench.ranking import unit_vectors
    from faq_core.engine import FAQEngine
    from faq_core.faqs import FAQ
    from faq_core.index import FAQIndex, IndexMeta

    rng = np.random.default_rng(5)
    single, max_rows = blas.SINGLE_THREAD_QUERIES, blas.SINGLE_THREAD_MAX_ROWS
    rows = []
    for n in FIGHT_SIZES:
        vectors = unit_vectors(n, rng)
        owner = np.repeat(np.arange(n // 5), 5)
        faqs = [FAQ(f"f{i}", f"q{i}", alternates=tuple(f"q{i}.{j}" for j in range(4))) for i in range(n // 5)]
        index = FAQIndex(faqs, [t for f in faqs for t in f.phrasings], vectors, owner,
                         IndexMeta(model_id=DEFAULT_MODEL, dim=vectors.shape[1]))
        engine = FAQEngine(index, onnx, cache_size=0)
        samples: dict[str, list[float]] = {"embed": [], "one": [], "pool": []}
        for i in range(FIGHT_CALLS):
            for name in samples:
                question = [f"{texts[i % len(texts)]} ({name} {n} {i})"]  # never cached
                # "one" forces one BLAS thread whatever the size, "pool" forces the pool.
                blas.SINGLE_THREAD_MAX_ROWS = n if name == "one" else max_rows
                blas.SINGLE_THREAD_QUERIES = 0 if name == "pool" else single
                start = time.perf_counter()
                if name == "embed":
                    onnx.embed(question)
                else:
                    engine.answer(question[0])
                samples[name].append(time.perf_counter() - start)
        blas.SINGLE_THREAD_QUERIES, blas.SINGLE_THREAD_MAX_ROWS = single, max_rows
        embed, one, pool = (percentile(samples[k], 50) * 1000 for k in ("embed", "one", "pool"))
        default = "1 thread" if n <= max_rows else "pool"
        rows.append([f"{n:,}", embed, one, pool, f"{pool / one:.2f}x", default])
    print(f"\n## Embed + rank per question (ONNX embedder, blend scorer; median of {FIGHT_CALLS}, interleaved)")
    print(table(["phrasings", "embed alone ms", "embed+rank, 1 BLAS thread ms", "embed+rank, BLAS pool ms",
                 "pool / 1 thread", f"default (1 thread up to {max_rows:,})"], rows))


if __name__ == "__main__":
    run()
