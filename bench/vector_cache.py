"""An on-disk cache of embeddings for the evaluation, one file per model.

Embedding is the slow part of ``make eval`` (about 140 texts a second with the
local model on two cores), and K = 1, 5, 10 and every rerun ask for the same
texts again. :class:`CachedEmbedder` is a real :class:`Embedder`, so indexes are
built with ``build_index`` and questions go through ``FAQEngine`` exactly as in
the bot; it only answers texts it has seen from ``bench/.work/vectors``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from faq_core.embedders.base import Embedder, unit_rows


def text_key(model_id: str, text: str) -> str:
    """Cache key of one text under one model: sha256 of both."""
    return hashlib.sha256(f"{model_id}\0{text}".encode()).hexdigest()


class CachedEmbedder(Embedder):
    """Wraps an embedder; vectors of texts seen before come from disk."""

    def __init__(self, inner: Embedder, folder: Path) -> None:
        super().__init__(inner.model_id, inner.batch_size)
        self.inner = inner
        self.backend = inner.backend
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", inner.model_id)
        self.path = folder / f"{slug}.npz"
        self._rows: dict[str, int] = {}
        self._vectors = np.zeros((0, inner.dim or 0), dtype=np.float32)
        self.hits = 0
        self.misses = 0
        if self.path.exists():
            with np.load(self.path) as stored:
                keys = [str(k) for k in stored["keys"]]
                self._vectors = np.asarray(stored["vectors"], dtype=np.float32)
            self._rows = {key: i for i, key in enumerate(keys)}
            if len(keys):
                self.dim = int(self._vectors.shape[1])

    def _embed_batch(self, texts: list[str]) -> np.ndarray:  # pragma: no cover - embed() is overridden
        return self.embed(texts)

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Unit rows for ``texts``; only unseen texts reach the wrapped embedder."""
        keys = [text_key(self.model_id, t) for t in texts]
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in self._rows))
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if missing:
            fresh = self.inner.embed(missing, progress=progress)
            self.dim = int(fresh.shape[1])
            base = len(self._rows)
            for i, text in enumerate(missing):
                self._rows[text_key(self.model_id, text)] = base + i
            self._vectors = fresh if base == 0 else np.concatenate([self._vectors, fresh])
            self._save()
        if not texts:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        return unit_rows(self._vectors[[self._rows[k] for k in keys]])

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(sorted(self._rows, key=self._rows.__getitem__))
        tmp = self.path.with_name(self.path.stem + ".tmp.npz")
        np.savez(tmp, keys=keys, vectors=self._vectors)
        tmp.replace(self.path)
