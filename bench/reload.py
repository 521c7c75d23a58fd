"""Cold start and hot reload at 100k and 1M phrasings, an index with its
precomputed state (``state/``: the vectors as a float32 matrix and the blend
scorer's set-up, memory-mapped on load) beside the same index without it (as
an older faq-bot wrote it: decoded from Parquet and set up on every load),
in one run.

Two synthetic revisions per size (``bench.scoring.synthetic_index``: 10
phrasings per FAQ, 384 dimensions, automatic threshold stored) are built
once; the served folder is a symbolic link moved from one to the other, as a
new build landing. Each variant runs in a fresh process (``python -m
bench.reload worker VARIANT N WORK``) that reports:

- cold start: ``load_index`` + ``FAQEngine`` (what a restart pays before the
  first answer, the model aside: the embedder is synthetic);
- steady: resident memory serving one revision (the process's ``VmRSS``,
  Python and libraries included) against the float32 floor (phrasings x 384 x
  4 bytes), and the p50/p99 of one client's questions;
- during a reload (the :class:`~bot.serving.reload.Reloader`'s whole check:
  digest, load beside, swap) with the same client asking all along: its
  p50/p99, the reload's seconds, the resident high-water mark during it
  (``VmHWM`` reset through ``/proc/self/clear_refs`` just before) above the
  steady memory, in units of the vectors' size; and resident memory after it.

``BENCH_QUICK=1`` runs 100k only (development); the full run adds 1M.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import percentile, table

PER_FAQ = 10
QUESTIONS = 64
STEADY_QUESTIONS = 200
WORK = Path(__file__).resolve().parent / ".work" / "reload"
MB = 1024 * 1024
VARIANTS = ("old", "new")  # old: no state/ (as an older faq-bot wrote it); new: state/ stored with the tables


def sizes() -> tuple[int, ...]:
    return (100_000,) if os.environ.get("BENCH_QUICK") else (100_000, 1_000_000)


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def build(n: int, folder: Path, seed: int) -> None:
    """One revision: ``n`` synthetic phrasings with its automatic threshold, saved (state included)."""
    from bench.scoring import synthetic_index
    from faq_core.index import save_index
    from faq_core.threshold import with_auto_threshold

    save_index(with_auto_threshold(synthetic_index(n // PER_FAQ, PER_FAQ, np.random.default_rng(seed))), folder)


def _point(link: Path, target: Path) -> None:
    """Make ``link`` name ``target`` in one rename (a new build landing)."""
    tmp = link.with_name(link.name + ".new")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    os.replace(tmp, link)


def worker(variant: str, n: int, work: Path) -> dict[str, Any]:
    """Cold start, steady serving and one reload of ``n`` phrasings, in this process."""
    from bench.scoring import DIM, SyntheticEmbedder, unit_rows
    from bot.serving.holder import ServingEngine
    from bot.serving.reload import Reloader
    from bot.settings import BotSettings
    from faq_core.engine import FAQEngine
    from faq_core.index import load_index

    rng = np.random.default_rng(3)
    texts = [f"question {i}" for i in range(QUESTIONS)]
    embedder = SyntheticEmbedder(dict(zip(texts, unit_rows(rng.standard_normal((QUESTIONS, DIM), dtype=np.float32)),
                                          strict=True)))
    served = work / "served"
    _point(served, work / f"v1-{n}")
    base_kb = _status_kb("VmRSS")
    result: dict[str, Any] = {"base_mb": base_kb / 1024}

    start = time.perf_counter()
    index = load_index(served)
    loaded = time.perf_counter()
    engine = FAQEngine(index, embedder)
    result["cold_s"] = time.perf_counter() - start
    result["load_s"], result["setup_s"] = loaded - start, result["cold_s"] - (loaded - start)
    result["state_used"] = index.derived.not_used is None
    del index

    serving = ServingEngine(engine)
    del engine
    reloader = Reloader(serving, dataclasses.replace(BotSettings(), faq_index=str(served)), interval=3600)

    def ask(latencies: list[float], stop: threading.Event, limit: int | None = None) -> None:
        i = 0
        while not stop.is_set() and (limit is None or i < limit):
            started = time.perf_counter()
            serving.answer_many([texts[i % QUESTIONS]], 3)
            latencies.append(time.perf_counter() - started)
            i += 1

    steady: list[float] = []
    ask(steady, threading.Event(), limit=STEADY_QUESTIONS)
    gc.collect()
    result["steady_mb"] = _status_kb("VmRSS") / 1024

    _point(served, work / f"v2-{n}")
    during: list[float] = []
    stop = threading.Event()
    client = threading.Thread(target=ask, args=(during, stop))
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS now
    client.start()
    time.sleep(0.05)  # the client is asking before the reload starts
    reloader.start()  # its own thread, at its lower priority, as the bot runs it
    start = time.perf_counter()
    reloader.trigger()
    swapped = reloader.wait_until(lambda: serving.swaps == 1, 600)
    result["reload_s"] = time.perf_counter() - start
    reloader.stop()
    time.sleep(0.05)
    stop.set()
    client.join()
    result["peak_mb"] = _status_kb("VmHWM") / 1024
    assert swapped, reloader.last_error
    ask([], threading.Event(), limit=STEADY_QUESTIONS)  # the new revision's pages in use, as serving does
    gc.collect()
    result["after_mb"] = _status_kb("VmRSS") / 1024
    result["steady_p50_ms"], result["steady_p99_ms"] = percentile(steady, 50) * 1e3, percentile(steady, 99) * 1e3
    result["during_p50_ms"], result["during_p99_ms"] = percentile(during, 50) * 1e3, percentile(during, 99) * 1e3
    result["during_count"] = len(during)
    return result


def _hide_state(work: Path, n: int, hidden: bool) -> None:
    """Move the revisions' ``state/`` aside (the old layout) or back."""
    for version in ("v1", "v2"):
        folder = work / f"{version}-{n}"
        on, off = folder / "state", folder / "state.off"
        if hidden and on.exists():
            os.replace(on, off)
        elif not hidden and off.exists():
            os.replace(off, on)


def _run(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "bench.reload", *args], capture_output=True, text=True,
                          env={**os.environ, "HF_HOME": str(WORK / "hf")})
    if proc.returncode != 0:
        raise RuntimeError(f"bench.reload {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return proc.stdout


def _liner(n: int, old: dict[str, Any], new: dict[str, Any]) -> Any:
    """A table row maker: measure ``key`` of both variants and old / new."""
    def line(name: str, key: str, fmt: str = "{:.2f}") -> list[object]:
        ratio = f"{old[key] / new[key]:.1f}x" if new[key] else "-"
        return [f"{n:,}", name, fmt.format(old[key]), fmt.format(new[key]), ratio]
    return line


def run() -> None:
    """Print the table."""
    WORK.mkdir(parents=True, exist_ok=True)
    print(f"\n## Cold start and reload: stored state vs none ({PER_FAQ} phrasings per FAQ, 384 dimensions; "
          f"load {os.getloadavg()[0]:.1f} at the start)", flush=True)
    rows: list[list[object]] = []
    try:
        for n in sizes():
            floor = n * 384 * 4 / MB
            for seed, version in ((1, "v1"), (2, "v2")):
                if not (WORK / f"{version}-{n}" / "faq_index.json").exists():
                    _run("build", str(n), str(WORK / f"{version}-{n}"), str(seed))
            got: dict[str, dict[str, Any]] = {}
            for variant in VARIANTS:
                _hide_state(WORK, n, hidden=variant == "old")
                try:
                    got[variant] = json.loads(_run("worker", variant, str(n), str(WORK)).strip().splitlines()[-1])
                finally:
                    _hide_state(WORK, n, hidden=False)
            old, new = got["old"], got["new"]
            line = _liner(n, old, new)
            rows += [
                line("cold start s (load_index + FAQEngine)", "cold_s"),
                line("  of which load_index s", "load_s"),
                line("  of which scorer set-up + threshold s", "setup_s"),
                line("reload s (check: digest, load beside, swap)", "reload_s"),
                line("question p50 ms steady", "steady_p50_ms"),
                line("question p50 ms during the reload", "during_p50_ms"),
                line("question p99 ms steady", "steady_p99_ms"),
                line("question p99 ms during the reload", "during_p99_ms"),
                [f"{n:,}", "p99 during / steady (target <= 2)", f"{old['during_p99_ms'] / old['steady_p99_ms']:.2f}",
                 f"{new['during_p99_ms'] / new['steady_p99_ms']:.2f}", ""],
                line("RSS MB steady (whole process)", "steady_mb", "{:.0f}"),
                [f"{n:,}", "steady RSS / float32 floor (target <= 2)", f"{old['steady_mb'] / floor:.2f}",
                 f"{new['steady_mb'] / floor:.2f}", f"floor {floor:.0f} MB"],
                [f"{n:,}", "  the same above the bare interpreter's RSS",
                 f"{(old['steady_mb'] - old['base_mb']) / floor:.2f}",
                 f"{(new['steady_mb'] - new['base_mb']) / floor:.2f}", f"bare {new['base_mb']:.0f} MB"],
                line("RSS MB peak during the reload", "peak_mb", "{:.0f}"),
                [f"{n:,}", "(peak - steady) / vectors (target <= 1.5)",
                 f"{(old['peak_mb'] - old['steady_mb']) / floor:.2f}",
                 f"{(new['peak_mb'] - new['steady_mb']) / floor:.2f}", ""],
                line("RSS MB after the reload", "after_mb", "{:.0f}"),
            ]
            print(f"(done: {n:,} phrasings; stored state used: old {old['state_used']}, new {new['state_used']})",
                  flush=True)
    finally:
        shutil.rmtree(WORK / "hf", ignore_errors=True)
    print(table(["phrasings", "measure", "old index (no state)", "new index (state)", "old / new"], rows))
    print(f"(load {os.getloadavg()[0]:.1f} at the end; the built revisions are kept in {WORK.name}/ "
          "for the next run: delete bench/.work/reload to rebuild)")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "build":
        build(int(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) == 5 and sys.argv[1] == "worker":
        print(json.dumps(worker(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))))
    else:
        run()
