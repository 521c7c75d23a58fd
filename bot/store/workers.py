"""The workers that answer what the intake holds, with bounded memory.

One dispatcher thread per process claims rows from the :class:`~bot.store.intake.Intake`
only when a worker thread is free, so however many events arrive, at most
``threads`` are in memory and the rest wait in the store in arrival order.
It wakes at once when this process records new work (:meth:`Workers.notify`)
and otherwise looks every ``poll_seconds`` for work of other replicas and for
leases that ran out (a crashed process's rows). While rows are worked on it
renews their leases, and every ``maintenance_seconds`` it runs the store's
clean-up (old intake rows, expired feedback text).

A row whose work raises something worth retrying (``retryable``: a
timeout, Slack or the database being unavailable) is retried later with a
growing delay, up to the intake's attempt limit; any other error (a payload
the work cannot use) sets it aside at once. When the store is down,
claiming pauses and the outcome of work already done is written once the
store answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.store.grouped import GroupedWrites
from bot.store.intake import Intake, Work
from bot.store.pool import prestarted_pool

log = logging.getLogger(__name__)

DEFAULT_THREADS = 16
CLAIM_BATCH = 32
POLL_SECONDS = 0.5
MAINTENANCE_SECONDS = 3600.0
RETRY_DELAYS = (1.0, 5.0, 30.0, 120.0)
# How long a worker keeps trying to record a finished row while the store is
# down before leaving it to the lease (the delivery's look-before-post then
# keeps the reply from being sent twice).
RECORD_PATIENCE_SECONDS = 300.0


def retry_delay(attempts: int) -> float:
    """Seconds to wait before trying a failed row again."""
    return RETRY_DELAYS[min(max(attempts, 1), len(RETRY_DELAYS)) - 1]


class Workers:
    """Claims and runs intake rows on a fixed pool of threads."""

    def __init__(self, intake: Intake, run: Callable[[Work], None], *, threads: int = DEFAULT_THREADS,
                 poll_seconds: float = POLL_SECONDS, maintenance: Callable[[], None] | None = None,
                 maintenance_seconds: float = MAINTENANCE_SECONDS,
                 retryable: Callable[[BaseException], bool] = lambda error: True,
                 observe: Callable[[Work, str], None] | None = None) -> None:
        """``observe(work, outcome)`` hears how each row ended here (``done``,
        ``retry`` or ``failed``): metrics."""
        self.intake = intake
        self.observe = observe
        self.retryable = retryable
        self.run = run
        self.threads = threads
        self.poll_seconds = poll_seconds
        self.maintenance = maintenance
        self.maintenance_seconds = maintenance_seconds
        self._pool = prestarted_pool(threads, "faq-bot-worker")
        self._finishing: GroupedWrites[Work] = GroupedWrites(intake.finish_many)
        self._changed = threading.Condition()
        self._in_flight: dict[int, Work] = {}
        self._kicked = True
        self._idle = False
        self._stopping = False
        self._store_down = False
        self._thread = threading.Thread(target=self._dispatch, name="faq-bot-dispatcher", daemon=True)
        self._started = False

    def start(self) -> None:
        """Start claiming (rows left by an earlier run are picked up at once)."""
        with self._changed:
            if self._started:
                return
            self._started = True
        self._thread.start()

    def notify(self) -> None:
        """New work was recorded by this process: look now rather than at the next poll."""
        with self._changed:
            self._kicked = True
            self._idle = False
            self._changed.notify_all()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until nothing is in flight here and the last look found no
        claimable work (for tests, benchmarks and a clean stop)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (self._idle and not self._in_flight and not self._kicked):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True

    def stop(self, deadline: float | None = None) -> int:
        """Stop claiming, let the work in flight finish, then stop the threads.
        Rows not yet claimed stay in the store for the next start or another replica.

        With a ``deadline`` (seconds), work still in flight when it passes is
        handed back to the intake (its lease released, the attempt not
        counted), so another replica or the next start takes it at once
        instead of after the lease; its threads are left to the caller, who
        is about to exit. Returns how many rows were handed back."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._started:
            self._thread.join()
        if deadline is None:
            self._pool.shutdown(wait=True)
            return 0
        end = time.monotonic() + deadline
        with self._changed:
            while self._in_flight and (remaining := end - time.monotonic()) > 0:
                self._changed.wait(remaining)
            left = list(self._in_flight.values())
        if not left:
            self._pool.shutdown(wait=True)
            return 0
        try:
            handed = self.intake.hand_back([work.id for work in left])
        except Exception as error:
            log.error("could not hand back %d rows in flight (%s); their leases will run out and they will be "
                      "taken again", len(left), _first_line(error))
            handed = 0
        else:
            log.warning("stopping with %d rows still in flight after %g s: handed back to the intake", handed,
                        deadline)
        self._pool.shutdown(wait=False, cancel_futures=True)
        return handed

    # -- the dispatcher ---------------------------------------------------------------
    def _dispatch(self) -> None:
        next_renewal = time.monotonic() + self.intake.lease_seconds / 3
        next_maintenance = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= next_renewal:  # also while every thread is busy: their leases must not run out
                self._renew()
                next_renewal = now + self.intake.lease_seconds / 3
            if self.maintenance is not None and now >= next_maintenance:
                self._maintain()
                next_maintenance = now + self.maintenance_seconds
            with self._changed:
                if self._stopping:
                    return
                if len(self._in_flight) >= self.threads:
                    self._changed.wait(self.poll_seconds)  # until a thread is free (or time to renew)
                    continue
                free = self.threads - len(self._in_flight)
                self._kicked = False
            claimed = self._claim(min(free, CLAIM_BATCH))
            with self._changed:
                for work in claimed:
                    self._in_flight[work.id] = work
                if not claimed and not self._in_flight and not self._kicked and not self._store_down:
                    self._idle = True
                    self._changed.notify_all()
            for work in claimed:
                self._pool.submit(self._work, work)
            if claimed and len(claimed) == min(free, CLAIM_BATCH):
                continue  # maybe more waiting: look again at once
            with self._changed:
                if not self._kicked and not self._stopping:
                    self._changed.wait(self.poll_seconds)

    def _claim(self, n: int) -> list[Work]:
        try:
            claimed = self.intake.claim(n)
        except Exception as error:
            if not self._store_down:
                log.error("the store is unavailable, so no new work is taken until it is back: %s",
                          _first_line(error))
            self._store_down = True
            return []
        if self._store_down:
            log.info("the store is reachable again; taking work")
            self._store_down = False
        return claimed

    def _renew(self) -> None:
        with self._changed:
            ids = list(self._in_flight)
        try:
            self.intake.renew(ids)
        except Exception as error:
            log.warning("could not renew the leases of %d rows: %s", len(ids), _first_line(error))

    def _maintain(self) -> None:
        assert self.maintenance is not None
        try:
            self.maintenance()
        except Exception as error:
            log.warning("store maintenance failed (will try again later): %s", _first_line(error))

    # -- one row ----------------------------------------------------------------------
    def _work(self, work: Work) -> None:
        try:
            outcome = "done"
            try:
                self.run(work)
            except Exception as error:
                if self.retryable(error):
                    log.warning("working on %s %s (attempt %d) failed: %s; will try again", work.kind, work.key,
                                work.attempts, _first_line(error))
                    outcome = "retry"
                else:
                    log.error("working on %s %s failed and cannot succeed; setting it aside: %s: %s",
                              work.kind, work.key, type(error).__name__, _first_line(error),
                              exc_info=not isinstance(error, KeyError | TypeError | ValueError))
                    outcome = "failed"
            self._record(work, outcome)
            if self.observe is not None:
                try:
                    self.observe(work, outcome)
                except Exception:
                    log.exception("a work observer failed")
        finally:
            with self._changed:
                self._in_flight.pop(work.id, None)
                self._changed.notify_all()

    def _record(self, work: Work, outcome: str) -> None:
        """Write the outcome (done, retry or failed), waiting out a store outage (bounded)."""
        deadline = time.monotonic() + RECORD_PATIENCE_SECONDS
        delay = 0.2
        while True:
            try:
                if outcome == "done":
                    self._finishing.write(work)  # with the rows other threads finish meanwhile
                elif outcome == "failed":
                    self.intake.set_aside(work)
                elif not self.intake.retry_later(work, retry_delay(work.attempts)):
                    log.error("gave up on %s %s after %d attempts", work.kind, work.key, work.attempts)
                return
            except Exception as error:
                if time.monotonic() >= deadline or self._stopping:
                    log.error("could not record the outcome of %s %s: %s; its lease will run out and "
                              "it will be looked at again", work.kind, work.key, _first_line(error))
                    return
                log.warning("could not record the outcome of %s %s yet: %s", work.kind, work.key,
                            _first_line(error))
                time.sleep(delay)
                delay = min(delay * 2, 5.0)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
