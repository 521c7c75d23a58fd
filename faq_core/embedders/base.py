"""The one interface every embedding backend implements.

``Embedder.embed(texts)`` always returns a C-contiguous float32 matrix of unit
rows, shape ``(len(texts), dim)``: whatever a backend's service sends back is
normalised here, in one place, so vectors from any backend can be compared.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from faq_core.errors import EmbeddingResponseError

# Dimensions of models we know; others are learnt from the first response.
KNOWN_DIMS = {"sentence-transformers/all-MiniLM-L6-v2": 384}
NORMALIZATION = "unit-l2"


def canonical_model_id(model_id: str) -> str:
    """``all-MiniLM-L6-v2`` and ``sentence-transformers/all-MiniLM-L6-v2`` are one model."""
    if "/" not in model_id and f"sentence-transformers/{model_id}" in KNOWN_DIMS:
        return f"sentence-transformers/{model_id}"
    return model_id


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Scale each row (last axis) to length 1 (zero rows stay zero) as float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.sqrt(np.einsum("...i,...i->...", matrix, matrix))[..., np.newaxis]
    np.maximum(norms, np.float32(1e-12), out=norms)
    return np.ascontiguousarray(matrix / norms, dtype=np.float32)


def normalize_in_place(matrix: np.ndarray, chunk: int = 65_536) -> np.ndarray:
    """:func:`unit_rows` into ``matrix`` itself (float32, 2-D), ``chunk`` rows
    at a time: no full-size temporary, for matrices of a million rows."""
    for start in range(0, matrix.shape[0], chunk):
        block = matrix[start : start + chunk]
        norms = np.sqrt(np.einsum("ij,ij->i", block, block))
        np.maximum(norms, np.float32(1e-12), out=norms)
        block /= norms[:, np.newaxis]
    return matrix


class Embedder(ABC):
    """Turns texts into unit vectors with one model, through one backend."""

    backend: str = "abstract"

    def __init__(self, model_id: str, batch_size: int = 32) -> None:
        self.model_id = canonical_model_id(model_id)
        self.batch_size = batch_size
        self.dim: int | None = KNOWN_DIMS.get(self.model_id)

    @abstractmethod
    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        """Embed at most ``batch_size`` texts; any float matrix ``(n, dim)``."""

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Embed ``texts`` in batches; unit float32 rows. Raises ``EmbeddingError``."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        starts = range(0, len(texts), self.batch_size)
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), unit="text", desc=f"embedding ({self.backend})")
        parts = []
        for start in starts:
            chunk = texts[start : start + self.batch_size]
            parts.append(self._checked(self._embed_batch(chunk), len(chunk)))
            if progress:
                bar.update(len(chunk))
        if progress:
            bar.close()
        return unit_rows(np.concatenate(parts, axis=0))

    def _checked(self, matrix: np.ndarray, n: int) -> np.ndarray:
        if matrix.ndim != 2 or matrix.shape[0] != n:
            raise EmbeddingResponseError(
                f"the {self.backend} backend returned {matrix.shape[0] if matrix.ndim else 0} vectors "
                f"for {n} texts"
            )
        if self.dim is None:
            self.dim = int(matrix.shape[1])
        elif matrix.shape[1] != self.dim:
            raise EmbeddingResponseError(
                f"the {self.backend} backend returned vectors of dimension {matrix.shape[1]}, "
                f"but {self.model_id} has dimension {self.dim}: is EMBEDDING_URL serving another model?"
            )
        if not np.all(np.isfinite(matrix)):
            raise EmbeddingResponseError(f"the {self.backend} backend returned non-finite values")
        return matrix

    def describe(self) -> str:
        """A one-line, secret-free description for logs."""
        return f"{self.backend} embedder for {self.model_id}"
