"""Readiness: may a load balancer send this replica the platform's requests now?

``/healthz`` (liveness) only says the process answers; ``/readyz`` runs a
small set of named checks and answers 503 with the reasons while any fails.
A check is a function returning ``None`` when all is well or a short reason
(no secrets, no local paths). :func:`standard_checks` are the core's (the
index, the model, the embedding service, the store); each platform adds its
own with :meth:`Readiness.add` (``bot/slack/readiness.py``,
``bot/discord/readiness.py``). Checks run in parallel, each bounded by a
deadline, so one hanging dependency makes the replica "not ready" instead of
making the probe time out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from bot.serving.holder import ServingEngine
from bot.serving.registry import MB, EngineRegistry
from bot.store.database import Store
from faq_core.engine import EMBED, FAQEngine
from faq_core.errors import SERVICE_ERRORS

log = logging.getLogger(__name__)

Check = Callable[[], "str | None"]
CHECK_DEADLINE_SECONDS = 3.0
EMBEDDING_CHECK_EVERY_SECONDS = 30.0


@dataclass(frozen=True)
class Report:
    """The outcome of one round of checks: ``failures`` maps a check's name to its reason."""

    checks: tuple[str, ...]
    failures: dict[str, str]
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return not self.failures

    def as_json(self) -> dict[str, Any]:
        return {"ready": self.ready,
                "checks": {name: self.failures.get(name, "ok") for name in self.checks}, **self.details}


class Readiness:
    """Named checks, run together by :meth:`report`."""

    def __init__(self, *, deadline: float = CHECK_DEADLINE_SECONDS) -> None:
        self.deadline = deadline
        self._checks: dict[str, Check] = {}
        self._details: dict[str, Callable[[], Any]] = {}
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="faq-bot-readiness")

    def add(self, name: str, check: Check) -> None:
        """Register ``check`` under ``name`` (replacing one of that name)."""
        self._checks[name] = check

    def add_detail(self, name: str, describe: Callable[[], Any]) -> None:
        """Report ``describe()`` under ``name`` beside the checks (facts, never a reason to be unready)."""
        self._details[name] = describe

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._checks)

    def report(self) -> Report:
        """Run every check; a check that raises or misses the deadline fails with a short reason."""
        futures = {name: self._pool.submit(check) for name, check in self._checks.items()}
        failures: dict[str, str] = {}
        end = time.monotonic() + self.deadline
        for name, future in futures.items():
            try:
                reason = future.result(timeout=max(end - time.monotonic(), 0.0))
            except FutureTimeout:
                reason = f"no answer within {self.deadline:g} s"
            except Exception as error:  # a check's own failure is a reason, not a crash
                reason = f"check failed: {type(error).__name__}"
            if reason:
                failures[name] = reason
        if failures:
            log.info("not ready: %s", "; ".join(f"{name}: {why}" for name, why in failures.items()))
        details: dict[str, Any] = {}
        for name, describe in self._details.items():
            try:
                details[name] = describe()
            except Exception as error:  # a detail that cannot be read is said so, never a crash
                details[name] = {"error": type(error).__name__}
        return Report(self.names, failures, details)

    def close(self) -> None:
        """Stop the checks' threads and unhook checks that listen to the engine."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        for check in self._checks.values():
            close = getattr(check, "close", None)
            if callable(close):
                close()


def index_check(engine: FAQEngine | ServingEngine) -> Check:
    """The FAQ index is loaded and holds FAQs."""
    def check() -> str | None:
        return None if engine.info.faq_count > 0 else "the FAQ index holds no FAQs"
    return check


def _running(thread: threading.Thread | None, target: Callable[[], None], name: str) -> threading.Thread:
    """``thread`` if it is still running, else a new daemon thread running ``target`` (started)."""
    if thread is not None and thread.is_alive():
        return thread
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


class ModelCheck:
    """The embedding model has answered once (the local model is loaded, a
    remote service reached). A call starts that warm-up in the background
    when none is running and waits briefly: "warming up" until it has
    succeeded, the failure if it failed (retried by the next call)."""

    def __init__(self, engine: FAQEngine | ServingEngine, *, wait: float = CHECK_DEADLINE_SECONDS / 2) -> None:
        self.engine = engine
        self.wait = wait
        self._lock = threading.Lock()
        self._warm = False
        self._error: str | None = None
        self._running: threading.Thread | None = None

    def _warm_up(self) -> None:
        try:
            self.engine.embedder.embed(["warm-up"])
        except Exception as error:
            self._error = f"the embedding model failed ({type(error).__name__})"
        else:
            self._warm, self._error = True, None

    def __call__(self) -> str | None:
        if self._warm:
            return None
        with self._lock:
            running = self._running = _running(self._running, self._warm_up, "faq-bot-warm-up")
        running.join(timeout=self.wait)
        if self._warm:
            return None
        return self._error if not running.is_alive() and self._error else "the embedding model is warming up"


class EmbeddingCheck:
    """The embedding model or service answers now (``ModelCheck`` only says it
    answered once). Real questions are the best probe: an embedding call of the
    engine that succeeded in the last ``every`` seconds means ready, with no
    call of the check's own. Otherwise (nothing recent, or the last call
    failed) the check embeds one short text itself, in the background, one
    probe at a time, and waits ``wait`` seconds for it: a healthy bot costs the
    service at most one call per ``every`` seconds, never one per readiness
    request, and a failing one is ready again at the first probe that
    succeeds. The reason names the failure's kind only (an error's text may
    hold a URL)."""

    def __init__(self, engine: FAQEngine | ServingEngine, *, every: float = EMBEDDING_CHECK_EVERY_SECONDS,
                 wait: float = CHECK_DEADLINE_SECONDS / 2) -> None:
        self.engine = engine
        self.every = every
        self.wait = wait
        self._lock = threading.Lock()
        self._heard: tuple[float, str | None] | None = None  # (when, reason or None)
        self._probe: threading.Thread | None = None
        engine.stage_observers.append(self._hear)

    def close(self) -> None:
        """Stop listening to the engine's embedding calls."""
        if self._hear in self.engine.stage_observers:
            self.engine.stage_observers.remove(self._hear)

    def _hear(self, stage: str, _seconds: float, error: BaseException | None) -> None:
        # A question the service refused (too long, malformed) says nothing about the service.
        if stage == EMBED and (error is None or isinstance(error, SERVICE_ERRORS)):
            self._record(error)

    def _record(self, error: BaseException | None) -> None:
        reason = None if error is None else f"the embedding service failed ({type(error).__name__})"
        with self._lock:
            self._heard = (time.monotonic(), reason)

    def _run_probe(self) -> None:
        try:
            self.engine.embedder.embed(["readiness probe"])
        except Exception as error:
            self._record(error)
        else:
            self._record(None)

    def __call__(self) -> str | None:
        with self._lock:
            heard = self._heard
            if heard is not None and heard[1] is None and time.monotonic() - heard[0] < self.every:
                return None
            probe = self._probe = _running(self._probe, self._run_probe, "faq-bot-embedding-probe")
        probe.join(timeout=self.wait)
        with self._lock:
            latest = self._heard
        if latest is not None and latest is not heard:
            return latest[1]
        if heard is not None and heard[1] is not None:
            return heard[1]  # still failing as far as is known; the probe goes on
        return "the embedding service has not answered the probe yet"


def store_check(store: Store) -> Check:
    """The store answers ``SELECT 1`` (``Store.reachable``: no transaction, so a
    probe never waits behind a busy writer)."""
    def check() -> str | None:
        return None if store.reachable() else "the store is unreachable"
    return check


def revision_detail(serving: ServingEngine, store: Store | None) -> Callable[[], dict[str, Any]]:
    """The ``revision`` part of ``/readyz``: what this replica serves since
    when, the pin every replica must serve (if any), and the other replicas."""
    def describe() -> dict[str, Any]:
        detail: dict[str, Any] = {"serving": serving.revision,
                                  "since": serving.changed_at.isoformat(timespec="seconds")}
        if store is not None:
            from bot.serving.replicas import current_pin, replicas

            pin = current_pin(store)
            detail["pinned"] = pin.revision if pin else None
            detail["replicas"] = [{"revision": r.revision, "seen_at": r.as_json()["seen_at"]}
                                  for r in replicas(store)]
        return detail
    return describe


def standard_checks(engine: FAQEngine | ServingEngine, store: Store | None, *,
                    embedding_every: float = EMBEDDING_CHECK_EVERY_SECONDS,
                    engines: EngineRegistry | None = None) -> Readiness:
    """``index``, ``model``, ``embedding`` and ``store`` (when there is one):
    what the bot needs to answer, on any platform; with a serving holder, the
    served ``revision`` beside them. The platform adds its own checks after
    these (Slack: ``slack``, and ``socket_mode`` in Socket Mode; Discord: ``discord``)."""
    readiness = Readiness()
    if isinstance(engine, ServingEngine):
        readiness.add_detail("revision", revision_detail(engine, store))
    readiness.add("index", index_check(engine))
    readiness.add("model", ModelCheck(engine))
    readiness.add("embedding", EmbeddingCheck(engine, every=embedding_every))
    if store is not None:
        readiness.add("store", store_check(store))
    if engines is not None:
        readiness.add_detail("indexes", indexes_detail(engines))
    return readiness


def indexes_detail(engines: EngineRegistry) -> Callable[[], dict[str, Any]]:
    """The indexes served for routes, for ``/readyz``: each one's state and
    revision, and the memory they hold against the budget. One index that
    cannot be loaded makes its places' replies say so; the replica stays ready."""
    def describe() -> dict[str, Any]:
        return {"loaded_mb": round(engines.loaded_bytes() / MB, 1), "budget_mb": round(engines.budget_bytes / MB, 1),
                "loads": engines.counts.loads, "evictions": engines.counts.evictions,
                "indexes": [state.as_json() for state in engines.states()]}

    return describe
