"""Embedding backends behind one interface, and the factory that picks one.

The HTTP embedders are imported when first named: they bring in
``requests`` and ``urllib3`` (about 100 ms), which a bot or a ``faq-bot ask``
on the local model never uses.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from faq_core.embedders.base import Embedder, canonical_model_id, unit_rows
from faq_core.embedders.local import LocalEmbedder
from faq_core.embedders.onnx_local import OnnxEmbedder
from faq_core.settings import Settings

if TYPE_CHECKING:
    from faq_core.embedders.http import HFInferenceEmbedder, HTTPEmbedder, OpenAIEmbedder, TEIEmbedder

_HTTP_NAMES = frozenset({"HFInferenceEmbedder", "HTTPEmbedder", "OpenAIEmbedder", "TEIEmbedder"})

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


def __getattr__(name: str) -> Any:
    """The HTTP embedders, imported on first use (see the module's docstring)."""
    if name in _HTTP_NAMES:
        return getattr(importlib.import_module("faq_core.embedders.http"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
        from faq_core.embedders.http import HF_ROUTER, HFInferenceEmbedder, OpenAIEmbedder, TEIEmbedder, endpoint

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
