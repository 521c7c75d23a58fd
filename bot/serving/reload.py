"""Picking up a new FAQ revision without a restart.

A :class:`Reloader` decides which revision this replica should serve and,
when that is not the one it serves, loads it beside the serving engine and
swaps it in (:class:`~bot.serving.holder.ServingEngine`). The revision to serve
is, in order:

1. a pin in the store (``faq-bot rollback REVISION``), which every replica obeys;
2. for a Hub dataset, ``FAQ_INDEX_REVISION`` when it is a commit id (pinned),
   else the commit its branch (default ``main``) points at now
   (``HfApi.dataset_info(...).sha``);
3. for a local folder, the digest of its metadata: a new build replaces it.

It checks every ``FAQ_RELOAD_SECONDS`` and at once when :meth:`Reloader.trigger`
is called (the Hub webhook). An index that stores its precomputed state
(``faq_core.index_state``) is mapped, not recomputed, so a reload costs
little beyond reading the FAQ texts, a row group at a time, handing the
interpreter to live questions between groups. (The reload thread keeps the
process's scheduling priority: descheduled while holding the interpreter
lock, a lower-priority thread would make questions wait longer, not shorter.)
A revision that cannot be loaded (bad files, another model, a commit that
does not exist) is refused with one log line
and remembered, so it is not tried again until the target changes; the old
engine keeps serving throughout. Each check reports what is served to the
``registry`` (the store's replica table), which is how ``faq-bot status``
sees every replica converge.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from bot.serving.holder import ServingEngine
from bot.settings import BotSettings
from faq_core.engine import FAQEngine
from faq_core.errors import FAQBotError, HubUnreachableError, IndexLoadError
from faq_core.hub import DEFAULT_BRANCH, head_commit, is_commit_id
from faq_core.index import LOCAL_REVISION_PREFIX, is_hub_repo_id, load_index, local_revision

log = logging.getLogger(__name__)


class RevisionRegistry(Protocol):
    """Where replicas meet: the pinned revision, and what each one serves."""

    def pinned(self) -> str | None:
        """The revision every replica must serve (``faq-bot rollback``), or None: follow."""

    def record(self, revision: str, *, index_name: str, changed_at: datetime, error: str | None = None) -> None:
        """Say that this replica serves ``revision`` since ``changed_at`` (and the last refusal, if any)."""


class Check(StrEnum):
    """What one check did."""

    UNCHANGED = "unchanged"
    SWAPPED = "swapped"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"


class Reloader:
    """Keeps ``serving`` on the revision it should serve (see the module docstring)."""

    def __init__(self, serving: ServingEngine, settings: BotSettings, *, registry: RevisionRegistry | None = None,
                 interval: float | None = None) -> None:
        if not settings.faq_index:
            raise FAQBotError("reloading needs FAQ_INDEX (the bundled sample never changes)")
        self.serving = serving
        self.settings = settings
        self.location = settings.faq_index
        self.registry = registry
        self.interval = settings.faq_reload_seconds if interval is None else interval
        self.hub = is_hub_repo_id(self.location)
        revision = settings.faq_index_revision
        self.pinned_commit = revision if is_commit_id(revision) else None
        self.branch = revision if revision and not self.pinned_commit else DEFAULT_BRANCH
        self.refused: dict[str, str] = {}  # target -> why it was refused
        self.last_error: str | None = None
        self.checks = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._check_lock = threading.Lock()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    # -- what to serve -------------------------------------------------------------
    def following(self) -> str:
        """What this replica follows, for people: ``repo@main``, ``repo@<commit>`` or the folder."""
        if not self.hub:
            return f"the folder {self.location}"
        return f"{self.location}@{self.pinned_commit or self.branch}"

    def target(self) -> str:
        """The revision this replica should serve now. Raises :class:`HubUnreachableError`."""
        pin = self.registry.pinned() if self.registry is not None else None
        if pin:
            return pin
        if not self.hub:
            try:
                return local_revision(self.location)
            except OSError as error:  # deleted, or not an index (yet)
                raise HubUnreachableError(f"cannot read the index folder {self.location}: {error}") from None
        if self.pinned_commit:
            return self.pinned_commit
        return head_commit(self.location, self.branch, token=self.settings.hf_token,
                           endpoint=self.settings.hf_endpoint)

    # -- checking --------------------------------------------------------------------
    def check_now(self) -> Check:
        """Compare the target with what is served; load and swap when they differ."""
        with self._check_lock:
            try:
                outcome = self._check()
            finally:
                self.checks += 1
                self._report()
                with self._changed:
                    self._changed.notify_all()
            return outcome

    def _check(self) -> Check:
        try:
            target = self.target()
        except HubUnreachableError as error:
            log.warning("could not check for a new FAQ revision (still serving %s): %s", self.serving.revision, error)
            return Check.UNREACHABLE
        if target == self.serving.revision:
            return Check.UNCHANGED
        if target in self.refused:
            return Check.REFUSED
        started = time.perf_counter()
        try:
            engine = self.load(target)
        except FAQBotError as error:
            self.refused[target] = str(error)
            self.last_error = f"refused {target}: {error}"
            log.error("refused FAQ revision %s, still serving %s: %s", target, self.serving.revision, error)
            return Check.REFUSED
        loaded = time.perf_counter()
        previous = self.serving.revision
        try:
            old = self.serving.swap(engine, target)
        except Exception as error:  # what a platform derives from the index (autocomplete) failed to build
            self.refused[target] = f"{type(error).__name__}: {error}"
            self.last_error = f"refused {target}: {self.refused[target]}"
            log.exception("refused FAQ revision %s, still serving %s: preparing it failed", target,
                          self.serving.revision)
            return Check.REFUSED
        log.info("now serving FAQ revision %s (was %s): %d FAQs, %d phrasings, loaded in %.2f s",
                 target, previous, len(engine.index.faqs), len(engine.index.texts), loaded - started)
        del old  # the last reference but those of questions still being answered on it
        self.last_error = None
        return Check.SWAPPED

    def load(self, target: str) -> FAQEngine:
        """Load revision ``target`` into a new engine sharing the serving
        engine's embedder; refuses (``FAQBotError``) a broken or mismatched one."""
        if self.hub:
            index = load_index(self.location, target, endpoint=self.settings.hf_endpoint)
        else:
            if not target.startswith(LOCAL_REVISION_PREFIX):
                raise IndexLoadError(f"{target} is not a build of the local folder {self.location}: "
                                     "a local index cannot go back to another revision")
            index = load_index(self.location)
            if index.revision != target:
                raise IndexLoadError(f"the folder {self.location} changed while it was being loaded")
        # the same embedder and settings as the engine serving now (build_engine's), the new index
        return FAQEngine(index, self.serving.embedder, min_score=self.settings.faq_min_score)

    def _report(self) -> None:
        if self.registry is None:
            return
        try:
            self.registry.record(self.serving.revision, index_name=self.serving.info.display_name,
                                 changed_at=self.serving.changed_at, error=self.last_error)
        except Exception as error:  # the store being down must not stop serving
            log.warning("could not record the served revision in the store: %s", error)

    # -- waiting (tests, the CLI) ------------------------------------------------------
    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``predicate()`` holds after a check (or ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    # -- the background loop -------------------------------------------------------------
    def trigger(self) -> None:
        """Check now (a webhook said something changed), not at the next interval."""
        self._wake.set()

    def start(self) -> None:
        """Check every ``interval`` seconds (and when triggered) on a daemon thread."""
        self._thread = threading.Thread(target=self._run, name="faq-bot-reload", daemon=True)
        self._thread.start()
        log.info("following %s: checking for a new revision every %g s", self.following(), self.interval)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.check_now()
            except Exception:  # never let the loop die: the next interval tries again
                log.exception("checking for a new FAQ revision failed")

    def stop(self) -> None:
        """Stop the loop (a check in progress finishes)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
