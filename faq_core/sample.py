"""The bundled sample: the seed article's 13 Medicare FAQs with answers.

With no ``FAQ_INDEX`` configured, ``ask`` and the bot serve this sample. Its
index (with its automatic threshold) is built on first use with the configured
embedder and cached under ``FAQ_CACHE_DIR``, keyed by the source's hash and
the model, so a changed file or another model never reuses stale vectors.
"""

from __future__ import annotations

import logging
import re
from importlib import resources
from pathlib import Path

from faq_core.embedders import Embedder
from faq_core.errors import IndexLoadError, IndexWriteError
from faq_core.index import FAQIndex, build_index_from_source, load_index, save_index, source_digest
from faq_core.threshold import with_auto_threshold

log = logging.getLogger(__name__)


def sample_source() -> Path:
    """Path of the bundled Medicare FAQ source (CSV)."""
    return Path(str(resources.files("faq_core") / "data" / "medicare_faqs.csv"))


def sample_index(embedder: Embedder, cache_dir: Path) -> FAQIndex:
    """The sample's index for ``embedder``'s model: loaded from the cache, or
    built and cached."""
    source = sample_source()
    digest = source_digest(source)
    model_slug = re.sub(r"[^A-Za-z0-9]+", "-", embedder.model_id).strip("-")
    folder = cache_dir / f"sample-{model_slug}-{digest[:12]}"
    if folder.is_dir():
        try:
            return _marked(load_index(folder))
        except IndexLoadError as error:
            log.warning("rebuilding the cached sample index: %s", error)
    log.info("building the sample FAQ index with %s (first use)", embedder.describe())
    index = with_auto_threshold(build_index_from_source(source, embedder))
    try:
        save_index(index, folder, force=True)  # our own cache folder, even if a broken one is there
    except IndexWriteError as error:  # a read-only or misplaced FAQ_CACHE_DIR: serve it without caching
        log.warning("serving the sample FAQ index without caching it (FAQ_CACHE_DIR=%s): %s", cache_dir, error)
        return _marked(index)
    return _marked(load_index(folder))


def _marked(index: FAQIndex) -> FAQIndex:
    index.bundled_sample = True
    return index
