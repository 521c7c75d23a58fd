"""Embedding backends behind one interface, and the factory that picks one."""

from __future__ import annotations

import logging

from faq_core.embedders.base import Embedder, canonical_model_id, unit_rows
from faq_core.embedders.http import (
    HF_ROUTER,
    HFInferenceEmbedder,
    HTTPEmbedder,
    OpenAIEmbedder,
    TEIEmbedder,
    endpoint,
)
from faq_core.embedders.local import LocalEmbedder
from faq_core.embedders.onnx_local import OnnxEmbedder
from faq_core.settings import Settings

__all__ = [
    "Embedder",
    "HFInferenceEmbedder",
    "HTTPEmbedder",
    "LocalEmbedder",
    "OnnxEmbedder",
    "OpenAIEmbedder",
    "TEIEmbedder",
    "canonical_model_id",
    "make_embedder",
    "unit_rows",
]

log = logging.getLogger(__name__)


def make_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for (``auto``: the HF API with a token,
    else local). Logs the choice once, without the token."""
    backend = settings.resolved_backend()
    model = canonical_model_id(settings.embedding_model)
    embedder: Embedder
    if backend == "local":
        embedder = OnnxEmbedder(model, batch_size=settings.embedding_batch_size, cache_dir=settings.faq_cache_dir)
    elif backend == "local-torch":
        embedder = LocalEmbedder(model, batch_size=settings.embedding_batch_size)
    else:
        common = {
            "model_id": model,
            "token": settings.hf_token,
            "timeout": settings.embedding_timeout,
            "connect_timeout": settings.embedding_connect_timeout,
            "retry_budget": settings.embedding_retry_budget,
            "batch_size": settings.embedding_batch_size,
        }
        url = settings.embedding_url
        if backend == "hf-inference":
            embedder = HFInferenceEmbedder(url=url or HF_ROUTER.format(model=model), **common)  # type: ignore[arg-type]
        elif backend == "tei":
            embedder = TEIEmbedder(url=endpoint(url or "", "/embed"), **common)  # type: ignore[arg-type]
        else:
            embedder = OpenAIEmbedder(url=endpoint(url or "", "/v1/embeddings"), **common)  # type: ignore[arg-type]
    log.info("embedding backend: %s (EMBEDDING_BACKEND=%s)", embedder.describe(), settings.embedding_backend)
    return embedder
