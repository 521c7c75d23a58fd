"""The engine being served, as one holder every part of the bot shares.

The Answerer, its batcher, the listeners, the readiness checks and the App
Home all hold a :class:`ServingEngine` instead of an engine. A reload builds
the new engine beside the old one and :meth:`ServingEngine.swap` replaces it
in one assignment: each batch of questions takes ``current`` once and is
answered wholly by that engine, so no question sees a half-loaded index, and
questions already being answered finish on the old engine, which is released
(garbage-collected) when the last of them is done.

What a platform derives from the index (Discord's in-memory autocomplete) is
a :class:`Companion`: attached once, it is rebuilt for each new engine beside
the serving one, before the swap, and swapped in the same assignment, so the
two never disagree and the old one is released with the old engine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, TypeVar, cast

import numpy as np

from faq_core.answer import Answer
from faq_core.embedders import Embedder
from faq_core.engine import FAQEngine, IndexInfo, StageObserver
from faq_core.index import FAQIndex


def revision_of(index: FAQIndex) -> str:
    """What names the revision of a loaded index: its Hub commit (or branch),
    or for a folder its build (:func:`~faq_core.index.local_revision`, set by
    ``load_index``); an index built in memory has none."""
    return index.revision or "unversioned"


T = TypeVar("T")


@dataclass(frozen=True)
class Companion(Generic[T]):
    """Something derived from an engine (``build(engine)``) that must always
    match the engine serving, e.g. an autocomplete index over its FAQs."""

    name: str
    build: Callable[[FAQEngine], T]


@dataclass(frozen=True)
class Served:
    """One engine and the companions built for it: replaced as a whole, so a
    unit of work that takes it once sees an engine and companions that agree."""

    engine: FAQEngine
    companions: Mapping[str, object] = field(default_factory=dict)

    def companion(self, companion: Companion[T]) -> T:
        """What ``companion`` built for this engine (attached earlier)."""
        return cast(T, self.companions[companion.name])


class ServingEngine:
    """The served :class:`FAQEngine`, swapped atomically by a reload.

    It answers like an engine (``answer_many``, ``info``, ``index``,
    ``embedder``), each call on the engine current at that moment."""

    def __init__(self, engine: FAQEngine, revision: str | None = None) -> None:
        self._served = Served(engine)
        self._companions: dict[str, Companion[object]] = {}
        self._lock = threading.Lock()
        self.revision = revision or revision_of(engine.index)
        self.changed_at = datetime.now(UTC)
        self.swaps = 0

    @property
    def current(self) -> FAQEngine:
        """The engine serving now (take it once per unit of work)."""
        return self._served.engine

    def attach(self, companion: Companion[T]) -> T:
        """Keep ``companion`` built for the serving engine from now on (built
        now for the current one); returns what it built."""
        with self._lock:
            served = self._served
            built = companion.build(served.engine)
            self._companions[companion.name] = cast(Companion[object], companion)
            self._served = Served(served.engine, {**served.companions, companion.name: built})
        return built

    def companion(self, companion: Companion[T]) -> T:
        """What ``companion`` built for the engine serving now (attached earlier)."""
        return self._served.companion(companion)

    def snapshot(self) -> Served:
        """The engine serving now with its companions, taken together."""
        return self._served

    def swap(self, engine: FAQEngine, revision: str) -> FAQEngine:
        """Serve ``engine`` (revision ``revision``) from now on; returns the old one.

        The attached companions are built for ``engine`` first, while the old
        engine and its companions still serve (a failing build raises and
        nothing is swapped); then both are replaced in one assignment."""
        with self._lock:
            engine.stage_observers = self._served.engine.stage_observers  # metrics and readiness keep listening
            built = {name: companion.build(engine) for name, companion in self._companions.items()}
            old = self._served.engine
            self._served = Served(engine, built)
            self.revision = revision
            self.changed_at = datetime.now(UTC)
            self.swaps += 1
        return old

    # -- the engine's interface, on the current engine ---------------------------
    @property
    def info(self) -> IndexInfo:
        return self._served.engine.info

    @property
    def index(self) -> FAQIndex:
        return self._served.engine.index

    @property
    def embedder(self) -> Embedder:
        return self._served.engine.embedder

    @property
    def stage_observers(self) -> list[StageObserver]:
        """The engine's stage observers: one list, handed to each engine a swap brings in."""
        return self._served.engine.stage_observers

    def answer(self, text: str, k: int = 3) -> Answer:
        return self._served.engine.answer(text, k)

    def answer_many(self, texts: Sequence[str], k: int = 3) -> list[Answer]:
        return self._served.engine.answer_many(texts, k)

    def recent_vector(self, query: str) -> np.ndarray | None:
        return self._served.engine.recent_vector(query)


def as_serving(engine: FAQEngine | ServingEngine) -> ServingEngine:
    """``engine`` in a holder (a holder is returned as it is, so all parts share one)."""
    return engine if isinstance(engine, ServingEngine) else ServingEngine(engine)
