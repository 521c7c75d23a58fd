"""Helpers for the faq_core tests: writing FAQ sources, fake embedders, and
running the real ``faq-bot`` console script in an offline subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from faq_core.embedders import Embedder
from tests.conftest import share_onnx_model

# The console script installed into the same environment as the interpreter
# running the tests: running it also checks the packaging (entry point, data).
FAQ_BOT = Path(sys.executable).with_name("faq-bot")
TOKEN = "hf_test_token_123"  # what tests.stubs.inference.InferenceStub accepts by default


def write(path: Path, content: str | bytes) -> Path:
    """Write ``content`` (text as UTF-8) to ``path`` and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TableEmbedder(Embedder):
    """Returns vectors from a table (text -> vector) and counts what it was asked."""

    backend = "table"

    def __init__(self, table: dict[str, np.ndarray], model_id: str = "sentence-transformers/all-MiniLM-L6-v2",
                 dim: int | None = None) -> None:
        super().__init__(model_id)
        self.table = table
        first = next(iter(table.values()))
        self.dim = dim if dim is not None else int(first.shape[0])
        self.calls: list[list[str]] = []

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.stack([self.table[t] for t in texts])


class CountingEmbedder(Embedder):
    """Wraps a real embedder and records every batch that reaches it."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner.model_id, inner.batch_size)
        self.inner = inner
        self.backend = inner.backend
        self.dim = inner.dim
        self.calls: list[list[str]] = []

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self.inner.embed(texts)


@dataclass
class CLIResult:
    """What a ``faq-bot`` run printed and returned."""

    code: int
    out: str
    err: str


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """An offline environment with every cache under ``home`` and no settings
    leaking in from the developer's shell."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "HF_HOME": str(home / "hf"),
        "FAQ_CACHE_DIR": str(home / "faq-bot"),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    share_onnx_model(Path(env["FAQ_CACHE_DIR"]))
    return env


@pytest.fixture()
def run_cli(tmp_path: Path) -> Callable[..., CLIResult]:
    """Run the installed ``faq-bot`` with ``args`` in ``tmp_path`` (so no
    ``.env`` of the checkout is read)."""

    def run(args: Sequence[str], *, stdin: str | None = None, timeout: float = 180, **env: str) -> CLIResult:
        proc = subprocess.run(
            [str(FAQ_BOT), *args], input=stdin, capture_output=True, text=True, timeout=timeout,
            cwd=tmp_path, env=cli_env(tmp_path, **env),
        )
        return CLIResult(proc.returncode, proc.stdout, proc.stderr)

    return run
