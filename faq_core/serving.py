"""The engine being served, as one holder every part of the bot shares.

The Answerer, its batcher, the listeners, the readiness checks and the App
Home all hold a :class:`ServingEngine` instead of an engine. A reload builds
the new engine beside the old one and :meth:`ServingEngine.swap` replaces it
in one assignment: each batch of questions takes ``current`` once and is
answered wholly by that engine, so no question sees a half-loaded index, and
questions already being answered finish on the old engine, which is released
(garbage-collected) when the last of them is done.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from faq_core.answer import Answer
from faq_core.embedders import Embedder
from faq_core.engine import FAQEngine, IndexInfo
from faq_core.index import META_FILE, FAQIndex


def local_revision(folder: str | Path) -> str:
    """The revision of a local index folder: a digest of its metadata, which
    every build changes (it holds the build time); raises ``OSError`` while
    the folder is being replaced."""
    return "local-" + hashlib.sha256((Path(folder) / META_FILE).read_bytes()).hexdigest()[:12]


def revision_of(index: FAQIndex) -> str:
    """What names the revision of a loaded index: its Hub commit (or branch),
    else the digest of its metadata (see :func:`local_revision`)."""
    if index.revision:
        return index.revision
    if index.location and Path(index.location).is_dir():
        try:
            return local_revision(index.location)
        except OSError:
            pass
    return "unversioned"


class ServingEngine:
    """The served :class:`FAQEngine`, swapped atomically by a reload.

    It answers like an engine (``answer_many``, ``info``, ``index``,
    ``embedder``), each call on the engine current at that moment."""

    def __init__(self, engine: FAQEngine, revision: str | None = None) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self.revision = revision or revision_of(engine.index)
        self.changed_at = datetime.now(UTC)
        self.swaps = 0

    @property
    def current(self) -> FAQEngine:
        """The engine serving now (take it once per unit of work)."""
        return self._engine

    def swap(self, engine: FAQEngine, revision: str) -> FAQEngine:
        """Serve ``engine`` (revision ``revision``) from now on; returns the old one."""
        with self._lock:
            old, self._engine = self._engine, engine
            self.revision = revision
            self.changed_at = datetime.now(UTC)
            self.swaps += 1
        return old

    # -- the engine's interface, on the current engine ---------------------------
    @property
    def info(self) -> IndexInfo:
        return self._engine.info

    @property
    def index(self) -> FAQIndex:
        return self._engine.index

    @property
    def embedder(self) -> Embedder:
        return self._engine.embedder

    def answer(self, text: str, k: int = 3) -> Answer:
        return self._engine.answer(text, k)

    def answer_many(self, texts: Sequence[str], k: int = 3) -> list[Answer]:
        return self._engine.answer_many(texts, k)

    def recent_vector(self, query: str) -> np.ndarray | None:
        return self._engine.recent_vector(query)


def as_serving(engine: FAQEngine | ServingEngine) -> ServingEngine:
    """``engine`` in a holder (a holder is returned as it is, so all parts share one)."""
    return engine if isinstance(engine, ServingEngine) else ServingEngine(engine)
