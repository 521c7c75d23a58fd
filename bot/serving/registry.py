"""Many FAQ indexes served by one process: engines loaded on first use, kept
under a memory budget, the least recently used evicted.

An :class:`EngineRegistry` holds one :class:`~bot.serving.holder.ServingEngine`
per index reference (:mod:`bot.serving.refs`), each over the one embedder
the process loaded (the model is the costly part, and it is shared). A
question for an index not loaded waits for its load; however many questions
for it arrive together, the index is loaded once (single flight): the first
loads, the others wait for that load. After a load, engines not used for the
longest time are evicted until the estimated size of those loaded is within
``FAQ_MEMORY_BUDGET_MB`` (the one just loaded, and the deployment's own
``FAQ_INDEX`` engine, are never evicted). With ``follow`` each loaded index
gets its own :class:`~bot.serving.reload.Reloader` (its revision, its checks,
the Hub webhook), stopped when it is evicted.

A reference that fails to load is remembered for ``retry_seconds``: the
questions meanwhile are told at once, instead of each loading it again.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from bot.serving.holder import ServingEngine
from bot.serving.refs import IndexRef, parse_ref
from bot.serving.reload import Reloader
from bot.serving.replicas import RoutedIndexRegistry
from bot.settings import BotSettings
from bot.store.database import Store
from faq_core.embedders import Embedder
from faq_core.engine import FAQEngine, load_configured_index
from faq_core.errors import FAQBotError, IndexLoadError

log = logging.getLogger(__name__)

MB = 1024 * 1024
DEFAULT_RETRY_SECONDS = 30.0

Loader = Callable[[IndexRef], FAQEngine]


def engine_bytes(engine: FAQEngine) -> int:
    """An estimate of the memory an engine holds beyond the shared embedder:
    the arrays of its index and scorer, and its texts."""
    total = 0
    for holder in (engine.index, engine.scorer):
        for value in vars(holder).values():
            if isinstance(value, np.ndarray):
                total += value.nbytes
    total += sum(sys.getsizeof(text) for text in engine.index.texts)
    for faq in engine.index.faqs:
        total += sum(sys.getsizeof(v) for v in vars(faq).values() if isinstance(v, str)) + 200
    return total


def settings_for(settings: BotSettings, ref: IndexRef) -> BotSettings:
    """``settings`` with ``FAQ_INDEX``/``FAQ_INDEX_REVISION`` naming ``ref``."""
    return replace(settings, faq_index=ref.location, faq_index_revision=ref.revision)


def index_loader(settings: BotSettings, embedder: Embedder) -> Loader:
    """What loads an index reference into an engine over ``embedder`` (a Hub
    branch resolved to its commit, as for ``FAQ_INDEX``)."""

    def load(ref: IndexRef) -> FAQEngine:
        index = load_configured_index(settings_for(settings, ref), embedder)
        return FAQEngine(index, embedder, min_score=settings.faq_min_score)

    return load


@dataclass
class Loaded:
    """One loaded index."""

    ref: str
    serving: ServingEngine
    size: int
    loaded_at: float
    last_used: float
    reloader: Reloader | None = None
    pinned: bool = False  # the deployment's own engine: never evicted
    reported: RoutedIndexRegistry | None = None  # its row in the store ('faq-bot status' per index)


@dataclass(frozen=True)
class IndexState:
    """What ``/readyz``, ``/metrics`` and ``status`` say about one index."""

    ref: str
    state: str  # loaded, loading, failed
    revision: str | None = None
    size_bytes: int = 0
    idle_seconds: float = 0.0
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"index": self.ref, "state": self.state, "revision": self.revision,
                "size_mb": round(self.size_bytes / MB, 2), "idle_seconds": round(self.idle_seconds, 1),
                "error": self.error}


@dataclass
class Counts:
    """How many loads, evictions and failed loads there were (metrics, the benchmark)."""

    loads: int = 0
    evictions: int = 0
    failures: int = 0


class EngineRegistry:
    """Engines per index reference, loaded on first use, evicted least recently used."""

    def __init__(self, loader: Loader, *, budget_bytes: int, settings: BotSettings | None = None,
                 follow: bool = False, retry_seconds: float = DEFAULT_RETRY_SECONDS,
                 clock: Callable[[], float] = time.monotonic, store: Store | None = None) -> None:
        """With ``store``, each loaded index's served revision is recorded for
        this replica (``faq-bot status``), and removed when it is evicted."""
        self.loader = loader
        self.store = store
        self.budget_bytes = budget_bytes
        self.settings = settings
        self.follow = follow and settings is not None
        self.retry_seconds = retry_seconds
        self.clock = clock
        self.counts = Counts()
        self.evicted: list[Callable[[str, ServingEngine], None]] = []  # told after an eviction (the batchers)
        self._lock = threading.Lock()
        self._loaded: OrderedDict[str, Loaded] = OrderedDict()  # least recently used first
        self._loading: dict[str, Future[ServingEngine]] = {}
        self._failed: dict[str, tuple[float, FAQBotError]] = {}

    @classmethod
    def over(cls, settings: BotSettings, embedder: Embedder, *, follow: bool = True,
             store: Store | None = None) -> EngineRegistry:
        """The registry a bot runs: indexes loaded over ``embedder``, ``FAQ_MEMORY_BUDGET_MB``, reloaders,
        each index's revision reported to ``store``."""
        return cls(index_loader(settings, embedder), budget_bytes=int(settings.faq_memory_budget_mb * MB),
                   settings=settings, follow=follow, store=store)

    # -- serving -------------------------------------------------------------------------
    def keep(self, ref: str, serving: ServingEngine) -> None:
        """Serve ``serving`` for ``ref`` and never evict it (the deployment's ``FAQ_INDEX`` engine)."""
        now = self.clock()
        with self._lock:
            self._loaded[ref] = Loaded(ref, serving, engine_bytes(serving.current), now, now, pinned=True)

    def get(self, ref: str) -> ServingEngine:
        """The engine for ``ref``, loaded now if it is not (once, however many
        ask together). Raises :class:`~faq_core.errors.FAQBotError` when it cannot be loaded."""
        with self._lock:
            found = self._loaded.get(ref)
            if found is not None:
                found.last_used = self.clock()
                self._loaded.move_to_end(ref)
                return found.serving
            failed = self._failed.get(ref)
            if failed is not None and self.clock() - failed[0] < self.retry_seconds:
                raise failed[1]
            waiting = self._loading.get(ref)
            if waiting is None:
                future: Future[ServingEngine] = Future()
                self._loading[ref] = future
        if waiting is not None:
            return waiting.result()
        try:
            serving = self._load(ref)
        except BaseException as error:
            refusal = error if isinstance(error, FAQBotError) else IndexLoadError(
                f"cannot load the FAQ index {ref}: {type(error).__name__}: {error}")
            with self._lock:
                self._loading.pop(ref, None)
                self._failed[ref] = (self.clock(), refusal)
                self.counts.failures += 1
            log.error("could not load the FAQ index %s: %s", ref, refusal)
            future.set_exception(refusal)
            raise refusal from None
        future.set_result(serving)
        return serving

    def _load(self, ref: str) -> ServingEngine:
        started = time.perf_counter()
        engine = self.loader(parse_ref(ref))
        serving = ServingEngine(engine)
        size = engine_bytes(engine)
        reloader, reported = None, None
        if self.store is not None:
            reported = RoutedIndexRegistry(self.store, ref)
            self._report(reported, serving)
        if self.follow and self.settings is not None:
            reloader = Reloader(serving, settings_for(self.settings, parse_ref(ref)), registry=reported)
            reloader.start()
        now = self.clock()
        with self._lock:
            self._loaded[ref] = Loaded(ref, serving, size, now, now, reloader, reported=reported)
            self._loading.pop(ref, None)
            self._failed.pop(ref, None)
            self.counts.loads += 1
            gone = self._evict_over_budget(keep=ref)
        log.info("loaded the FAQ index %s (revision %s, %.1f MB) in %.2f s", ref, serving.revision, size / MB,
                 time.perf_counter() - started)
        for entry in gone:
            self._forget(entry)
        return serving

    def _evict_over_budget(self, keep: str) -> list[Loaded]:
        """Take the least recently used engines out until the rest fit the budget (under the lock)."""
        gone: list[Loaded] = []
        total = sum(entry.size for entry in self._loaded.values())
        for ref in list(self._loaded):
            if total <= self.budget_bytes:
                break
            entry = self._loaded[ref]
            if ref == keep or entry.pinned:
                continue
            del self._loaded[ref]
            total -= entry.size
            gone.append(entry)
            self.counts.evictions += 1
        return gone

    def _forget(self, entry: Loaded) -> None:
        """After an eviction: stop its reloader, tell the observers (outside the lock)."""
        log.info("evicted the FAQ index %s (unused for %.0f s) to stay within FAQ_MEMORY_BUDGET_MB", entry.ref,
                 self.clock() - entry.last_used)
        if entry.reloader is not None:
            entry.reloader.stop()
        self._unreport(entry)
        for observer in list(self.evicted):
            try:
                observer(entry.ref, entry.serving)
            except Exception:
                log.exception("an eviction observer failed")

    # -- reporting ---------------------------------------------------------------------
    def states(self) -> list[IndexState]:
        """Every index loaded, loading or recently failed, most recently used first."""
        now = self.clock()
        with self._lock:
            out = [IndexState(e.ref, "loaded", e.serving.revision, e.size, now - e.last_used)
                   for e in reversed(self._loaded.values())]
            out += [IndexState(ref, "loading") for ref in self._loading]
            out += [IndexState(ref, "failed", error=str(error)) for ref, (at, error) in self._failed.items()
                    if now - at < self.retry_seconds]
        return out

    def loaded_bytes(self) -> int:
        """The estimated size of the engines loaded now."""
        with self._lock:
            return sum(entry.size for entry in self._loaded.values())

    def reloaders(self) -> list[Reloader]:
        """The reloaders of the indexes loaded now (the Hub webhook wakes the one concerned)."""
        with self._lock:
            return [e.reloader for e in self._loaded.values() if e.reloader is not None]

    def stop(self) -> None:
        """Stop every reloader this registry started, and take its indexes out of the store's report."""
        for reloader in self.reloaders():
            reloader.stop()
        with self._lock:
            entries = list(self._loaded.values())
        for entry in entries:
            self._unreport(entry)

    @staticmethod
    def _report(reported: RoutedIndexRegistry, serving: ServingEngine) -> None:
        try:
            reported.record(serving.revision, index_name=serving.info.display_name, changed_at=serving.changed_at)
        except Exception as error:  # the store down: serving goes on, status is stale
            log.warning("could not record the revision of %s in the store: %s", reported.index_ref, error)

    @staticmethod
    def _unreport(entry: Loaded) -> None:
        if entry.reported is None:
            return
        try:
            entry.reported.forget()
        except Exception as error:
            log.warning("could not remove %s from the store's report: %s", entry.ref, error)
