"""Cost of the automatic threshold (``faq_core.threshold``) against engine set-up.

Synthetic clustered unit vectors (``bench.scoring.synthetic_index``), 10
phrasings per FAQ, 10,000 and 100,000 phrasings. The baseline is building the
blend scorer (centering, whitening, adapter where small enough), which every
engine start pays; the estimate answers ``MAX_SAMPLES`` (1,000) phrasings at
``index build`` time, ``START_SAMPLES`` (200) when an engine starts on an index
that has none stored. Both are linear in the index size with bounded memory
(scores in chunks of at most 8M cells), so 1,000,000 phrasings cost about ten
times the 100,000 row.
"""

from __future__ import annotations

import time

import numpy as np

from bench.common import table
from bench.scoring import synthetic_index
from faq_core.scoring import BlendScorer
from faq_core.threshold import MAX_SAMPLES, START_SAMPLES, estimate_threshold

SIZES = (10_000, 100_000)
PER_FAQ = 10


def run() -> None:
    """Print the table."""
    rng = np.random.default_rng(0)
    rows: list[list[object]] = []
    for size in SIZES:
        index = synthetic_index(size // PER_FAQ, PER_FAQ, rng)
        start = time.perf_counter()
        scorer = BlendScorer(index)
        setup = time.perf_counter() - start
        timings = []
        for samples in (MAX_SAMPLES, START_SAMPLES):
            start = time.perf_counter()
            estimate_threshold(index, scorer, max_samples=samples)
            timings.append(time.perf_counter() - start)
        rows.append([f"{size:,}", f"{setup:.2f}", f"{timings[0]:.2f}", f"{timings[0] / setup:.2f}x",
                     f"{timings[1]:.2f}", f"{timings[1] / setup:.2f}x"])
    print("\n## Automatic threshold: estimate vs blend scorer set-up (synthetic, 10 phrasings per FAQ)\n")
    print(table(["phrasings", "scorer set-up s (baseline)", f"estimate, {MAX_SAMPLES} samples s", "x set-up",
                 f"estimate at start, {START_SAMPLES} samples s", "x set-up"], rows))


if __name__ == "__main__":
    run()
