"""Process start to first answer for ``faq-bot ask``, offline with a warm
cache, with the local model through ONNX Runtime (the default) and through
sentence-transformers (``local-torch``, the previous path), beside a bare
``python -c "import numpy"`` measured in the same run.

The clock runs from just before the process is spawned to the moment its
first answer line arrives on stdout (so the interpreter's exit is not
counted). The sample index is built once beforehand into a scratch cache
under ``bench/.work``: a user's second and later runs look like this.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import table

RUNS = 5
TARGET_SECONDS = 1.5
QUESTION = "How can Medicare help me?"
WORK = Path(__file__).resolve().parent / ".work"


def environment(home: Path) -> dict[str, str]:
    """Offline, no token, caches under ``home``: nothing leaks in from the shell."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "FAQ_INDEX", "FAQ_INDEX_REVISION")}
    env.update({
        "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false", "EMBEDDING_BACKEND": "local",
        "HF_HOME": str(home / "hf"), "FAQ_CACHE_DIR": str(home / "faq-bot"),
    })
    return env


def first_line_seconds(command: list[str], env: dict[str, str], cwd: Path) -> float:
    """Seconds from spawning ``command`` to its first line on stdout."""
    start = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=cwd,
                          text=True) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        elapsed = time.perf_counter() - start
        proc.stdout.read()
        code = proc.wait()
    if code != 0 or not line:
        raise RuntimeError(f"{' '.join(command)} failed with status {code}")
    return elapsed


def run() -> None:
    """Print start-up times (median and best of RUNS) and their ratio."""
    faq_bot = str(Path(sys.executable).with_name("faq-bot"))
    WORK.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK, prefix="startup-") as scratch:
        home = Path(scratch)
        env = environment(home)
        torch_env = {**env, "EMBEDDING_BACKEND": "local-torch"}
        first_line_seconds([faq_bot, "ask", QUESTION], env, home)  # exports the ONNX model, caches the sample
        ask_onnx, ask_torch = f'faq-bot ask "{QUESTION}" (local: ONNX Runtime)', "faq-bot ask (local-torch: previous)"
        commands = {
            'python -c "import numpy" (baseline)':
                ([sys.executable, "-c", "import numpy; print('ok')"], env),
            "faq-bot --help (imports only)": ([faq_bot, "--help"], env),
            ask_onnx: ([faq_bot, "ask", QUESTION], env),
            ask_torch: ([faq_bot, "ask", QUESTION], torch_env),
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(RUNS):  # interleaved, so every command sees the same machine load
            for name, (command, command_env) in commands.items():
                times[name].append(first_line_seconds(command, command_env, home))
    baseline = statistics.median(next(iter(times.values())))
    print(f"\n## Start-up: process start to first output line, offline, warm cache ({RUNS} runs)")
    print(table(
        ["command", "median s", "best s", "x baseline"],
        [[name, statistics.median(t), min(t), f"{statistics.median(t) / baseline:.1f}x"] for name, t in times.items()],
    ))
    onnx, torch = statistics.median(times[ask_onnx]), statistics.median(times[ask_torch])
    print(f"ask: previous path / ONNX = {torch / onnx:.1f}x; target: ONNX under {TARGET_SECONDS:g} s -> "
          f"{'PASS' if onnx < TARGET_SECONDS else 'FAIL'} ({onnx:.2f} s)")


if __name__ == "__main__":
    run()
