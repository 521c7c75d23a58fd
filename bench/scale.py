"""A million phrasings end to end: index build, index load and engine set-up,
time and memory, today's path beside the previous one in the same run.

Each step runs in a fresh process (``python -m bench.scale STEP N FOLDER``)
that reports its seconds and its peak resident memory during the step (the
kernel's high-water mark, reset just before the step through
``/proc/self/clear_refs``). Vectors are precomputed synthetic unit rows, 10
phrasings per FAQ around a per-FAQ centre (embedding is not what is
measured). The float32 floor is ``phrasings x 384 x 4`` bytes.

- build: ``save_index`` (pyarrow, row group by row group) vs the previous
  ``datasets.Dataset.from_dict(...).to_parquet`` (only at 100k: at 1M it was
  killed for memory at 24 GB).
- load: ``load_index`` vs the previous ``datasets.load_dataset`` +
  ``with_format("numpy")`` path. A folder saved now stores ``state/``
  (``faq_core.index_state``), so ``load_index`` maps the stored matrix; the
  folder without it (Arrow row groups decoded into one float32 matrix) is
  timed by ``bench/reload.py``, beside it.
- engine set-up: the blend scorer's computation now (chunked, no second
  copy; the stored set-up is dropped first, so it is computed, as for an
  index without ``state/``) vs the previous one-shot computation (centered
  and adapted full-size matrices, the adapted one kept), reproduced below
  from its code.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import table

SIZES = (100_000, 1_000_000)
PER_FAQ = 10
DIM = 384
WORK = Path(__file__).resolve().parent / ".work" / "scale"


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def synthetic_index(n: int, seed: int = 7) -> Any:
    """``n`` unit phrasings, PER_FAQ per FAQ, clustered around FAQ centres."""
    from faq_core.embedders.base import normalize_in_place
    from faq_core.faqs import FAQ
    from faq_core.index import FAQIndex, IndexMeta

    rng = np.random.default_rng(seed)
    n_faqs = n // PER_FAQ
    owner = np.repeat(np.arange(n_faqs), PER_FAQ)
    vectors = np.empty((n, DIM), dtype=np.float32)
    centres = rng.standard_normal((n_faqs, DIM), dtype=np.float32)
    for first in range(0, n, 100_000):
        rows = slice(first, first + 100_000)
        vectors[rows] = centres[owner[rows]] + rng.standard_normal((len(owner[rows]), DIM), dtype=np.float32)
    normalize_in_place(vectors)
    faqs = [FAQ(f"faq-{i}", f"Question number {i}?", answer=f"Answer {i}.",
                alternates=tuple(f"Another way to ask question {i}, take {j}?" for j in range(1, PER_FAQ)))
            for i in range(n_faqs)]
    texts = [t for faq in faqs for t in faq.phrasings]
    meta = IndexMeta(model_id="synthetic/unit-vectors", dim=DIM, faq_count=n_faqs, phrasing_count=n)
    return FAQIndex(faqs, texts, vectors, owner, meta)


def previous_load(folder: Path) -> Any:
    """The previous ``load_index``: ``datasets`` row by row (as it was written)."""
    from datasets import load_dataset

    from faq_core.embedders.base import unit_rows
    from faq_core.faqs import FAQ
    from faq_core.index import FAQIndex, _read_meta

    meta = _read_meta(str(folder), None)
    phrasings = load_dataset("parquet", data_files={"train": str(folder / "phrasings" / "train.parquet")},
                             split="train")
    faq_rows = load_dataset("parquet", data_files={"train": str(folder / "faqs" / "train.parquet")}, split="train")
    faqs = [FAQ(id=r["id"], question=r["question"], answer=r["answer"], url=r["url"],
                alternates=tuple(r["alternates"] or ()), tags=tuple(r["tags"] or ())) for r in faq_rows]
    positions = {faq.id: i for i, faq in enumerate(faqs)}
    owner = np.asarray([positions[f] for f in phrasings["faq_id"]], dtype=np.int64)
    vectors = np.asarray(phrasings.with_format("numpy")["embedding"], dtype=np.float32)
    return FAQIndex(faqs, list(phrasings["text"]), unit_rows(vectors), owner, meta, str(folder))


def previous_build(index: Any, folder: Path) -> None:
    """The previous ``save_index`` tables: ``Dataset.from_dict(...).to_parquet``."""
    from datasets import Dataset, Features, List, Value

    features = Features({"faq_id": Value("string"), "text": Value("string"),
                         "embedding": List(Value("float32"), length=DIM)})
    (folder / "phrasings").mkdir(parents=True, exist_ok=True)
    Dataset.from_dict({"faq_id": [index.faqs[i].id for i in index.owner], "text": index.texts,
                       "embedding": index.vectors}, features=features).to_parquet(
        str(folder / "phrasings" / "train.parquet"))


def previous_setup(index: Any) -> list[np.ndarray]:
    """The previous blend set-up, one-shot (no adapter at 1M: over its cell cap);
    returns what it kept."""
    from faq_core.embedders.base import unit_rows
    from faq_core.scoring import ALPHA, faq_centroids, within_faq_whitening

    vectors, starts = index.vectors, index.starts
    mean = vectors.mean(axis=0, dtype=np.float64).astype(np.float32)
    centered = unit_rows(vectors - mean)
    whitening = within_faq_whitening(centered, index.owner, starts)
    adapted = unit_rows(centered @ whitening)
    plain_centroids = faq_centroids(vectors, starts)
    linear = (1 - ALPHA) * faq_centroids(adapted, starts)
    return [adapted, plain_centroids, linear]


def worker(step: str, n: int, folder: Path) -> dict[str, float]:
    """Run one step in this process; seconds and peak/steady memory in MB."""
    from faq_core.index import load_index, save_index

    result: dict[str, float] = {}
    if step in ("build", "build-previous"):
        index = synthetic_index(n)
        base = _status_kb("VmRSS")
        _reset_peak()
        start = time.perf_counter()
        if step == "build":
            save_index(index, folder)
        else:
            previous_build(index, folder)
        result["seconds"] = time.perf_counter() - start
    elif step in ("load", "load-previous"):
        import faq_core.scoring  # noqa: F401  (imports out of the timed window)

        if step == "load-previous":
            import datasets  # noqa: F401
        base = _status_kb("VmRSS")
        _reset_peak()
        start = time.perf_counter()
        index = load_index(folder) if step == "load" else previous_load(folder)
        result["seconds"] = time.perf_counter() - start
    else:
        from faq_core.index_state import Derived
        from faq_core.scoring import BlendScorer

        index = load_index(folder)
        index.derived = Derived(source=index.vectors)  # computed, not mapped: what this step measures
        base = _status_kb("VmRSS")
        _reset_peak()
        start = time.perf_counter()
        kept = BlendScorer(index) if step == "engine" else previous_setup(index)
        result["seconds"] = time.perf_counter() - start
        result["steady_mb"] = (_status_kb("VmRSS") - base) / 1024
        del kept
    result["peak_mb"] = (_status_kb("VmHWM") - base) / 1024
    result["rss_mb"] = _status_kb("VmRSS") / 1024
    return result


def measure(step: str, n: int, folder: Path) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-m", "bench.scale", step, str(n), str(folder)], capture_output=True,
                          text=True, env={**os.environ, "HF_HOME": str(WORK / "hf")})
    if proc.returncode != 0:
        raise RuntimeError(f"bench.scale {step} {n} failed:\n{proc.stderr[-2000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def run() -> None:
    """Print build, load and set-up at 100k and 1M phrasings."""
    WORK.mkdir(parents=True, exist_ok=True)
    headers = ["phrasings", "step", "path", "seconds", "peak MB above start", "previous / now",
               "vectors + engine / floor"]
    rows: list[list[object]] = []
    print(f"\n## Scale: build, load and engine set-up ({PER_FAQ} phrasings per FAQ, dim {DIM}; "
          f"float32 floor {SIZES[-1] * DIM * 4 / 2**20:,.0f} MB at {SIZES[-1]:,})", flush=True)
    try:
        for n in SIZES:
            floor_mb = n * DIM * 4 / 2**20
            folder = WORK / f"index-{n}"
            new = measure("build", n, folder)
            rows.append([f"{n:,}", "index build (save_index)", "pyarrow", new["seconds"], new["peak_mb"], "", ""])
            if n <= 100_000:
                old = measure("build-previous", n, WORK / f"previous-{n}")
                rows.append([f"{n:,}", "", "previous: datasets", old["seconds"], old["peak_mb"],
                             f"{old['seconds'] / new['seconds']:.1f}x", ""])
                shutil.rmtree(WORK / f"previous-{n}", ignore_errors=True)
            new = measure("load", n, folder)
            old = measure("load-previous", n, folder)
            rows.append([f"{n:,}", "index load", "pyarrow", new["seconds"], new["peak_mb"], "", ""])
            rows.append([f"{n:,}", "", "previous: datasets", old["seconds"], old["peak_mb"],
                         f"{old['seconds'] / new['seconds']:.1f}x", ""])
            new = measure("engine", n, folder)
            old = measure("engine-previous", n, folder)
            rows.append([f"{n:,}", "engine set-up (above the loaded index)", "chunked", new["seconds"],
                         new["peak_mb"], "", f"{(floor_mb + new['steady_mb']) / floor_mb:.2f}x"])
            rows.append([f"{n:,}", "", "previous: one-shot", old["seconds"], old["peak_mb"],
                         f"{old['seconds'] / new['seconds']:.1f}x", f"{(floor_mb + old['steady_mb']) / floor_mb:.2f}x"])
            shutil.rmtree(folder, ignore_errors=True)
            print(f"(done: {n:,} phrasings)", flush=True)  # the table comes at the end; progress meanwhile
    finally:
        shutil.rmtree(WORK / "hf", ignore_errors=True)
    print(table(headers, rows))
    print("(peak: resident high-water mark during the step minus resident memory at its start; "
          "vectors + engine: the index's vectors plus what the scorer keeps, over the float32 floor)")


if __name__ == "__main__":
    if len(sys.argv) == 4:
        print(json.dumps(worker(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))))
    else:
        run()
