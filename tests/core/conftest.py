"""Helpers for the faq_core tests: writing FAQ sources, fake embedders, a
clock that moves only when slept on, and a port nothing listens on."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np

from faq_core.embedders import Embedder


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


class FakeTime:
    """A clock that only moves when the client sleeps; records each sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds
