"""A durable, platform-neutral work queue in the store: nothing accepted is lost.

A transport (Slack's HTTP or Socket Mode listener; Discord next) calls
:meth:`Intake.add` *before* it acknowledges an event, command or click. The
row's unique ``key`` makes the first delivery win: a retry, or the same event
reaching another replica, finds the key taken and is only acknowledged. If
the store cannot record it, the acknowledgement fails instead, so the sender
keeps (and redelivers) it.

Workers (:mod:`bot.store.workers`) then take rows in arrival order with a lease:
:meth:`claim` marks up to ``n`` pending rows as theirs until ``lease_until``
in one ``UPDATE ... RETURNING`` whose subquery picks the oldest free rows
(PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite runs one writer at a time).
:meth:`add` writes on the store's acknowledgement connections
(:meth:`~bot.store.database.Store.ack_transaction`), so an acknowledgement
never queues behind the workers' writes, and the events arriving while one
insert runs are inserted together in the next (one commit for a burst's
worth, each sender still answered only after its own row is committed).
A worker renews its leases while it works and, when done, marks the row
``done`` and drops its payload. A process that dies leaves its rows
``pending`` with a lease that runs out; then any process (itself after a
restart, or another replica) claims them again, with ``attempts`` counting
the tries. A row that keeps failing is set aside as ``failed`` after
:data:`MAX_ATTEMPTS`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.store.database import IntakeRow, Store
from bot.store.grouped import GroupedWrites
from bot.store.scoping import tenant_of, tenant_values
from bot.tenancy import Tenant

log = logging.getLogger(__name__)

PENDING, DONE, FAILED = "pending", "done", "failed"
DEFAULT_LEASE_SECONDS = 30.0
MAX_ATTEMPTS = 5
# Finished keys are kept this long so that late retries (Slack's come within
# minutes) are still recognised, then deleted.
KEEP_DONE_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Work:
    """One claimed row: what to do, and how many times it has been tried (this one included)."""

    id: int
    key: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    received_at: float
    # whose work it is, as the platform vouched for it when it arrived (never read from the payload)
    tenant: Tenant | None = None


@dataclass
class _NewRow:
    """A row :meth:`Intake.add` is recording, and whether its key was new."""

    values: dict[str, Any]
    new: bool = True


class Intake:
    """The ``intake`` table of one store, as a queue."""

    def __init__(self, store: Store, *, lease_seconds: float = DEFAULT_LEASE_SECONDS,
                 max_attempts: int = MAX_ATTEMPTS, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        # Wall-clock seconds, shared by every replica through the rows (a test steps it instead of sleeping).
        self.clock = clock
        self._adding: GroupedWrites[_NewRow] = GroupedWrites(self._insert)

    @property
    def owner(self) -> str:
        """Who this process is, in the rows it claims."""
        return self.store.owner

    def add(self, key: str, kind: str, payload: dict[str, Any], tenant: Tenant | None = None) -> bool:
        """Record new work for ``tenant`` (whose rows it may read and write: the
        workspace or guild the platform vouched for, never one the payload names);
        False when ``key`` was recorded before (a retry or a second delivery).
        Raises the database's error when it cannot record. Returns only once
        the row is committed; rows added at the same moment by other threads
        are committed in the same transaction."""
        # ASCII JSON: a lone surrogate or a NUL in a question (both legal in Slack's JSON) is stored
        # escaped, since neither SQLite's UTF-8 nor PostgreSQL's text would take it raw
        body = json.dumps(payload, separators=(",", ":"))
        row = _NewRow({"key": key, "kind": kind, "payload": body, "state": PENDING, "owner": None,
                       "lease_until": 0.0, "attempts": 0, "received_at": self.clock(), **tenant_values(tenant)})
        self._adding.write(row)
        return row.new

    def _insert(self, rows: Sequence[_NewRow]) -> None:
        """Insert ``rows`` in one transaction; if a key among them was taken, each
        on its own instead, marking those whose key was taken (``new`` False)."""
        try:
            with self.store.ack_transaction() as connection:
                connection.execute(insert(IntakeRow), [row.values for row in rows])
            return
        except IntegrityError:
            if len(rows) == 1:
                rows[0].new = False
                return
        for row in rows:
            try:
                with self.store.ack_transaction() as connection:
                    connection.execute(insert(IntakeRow), row.values)
            except IntegrityError:
                row.new = False

    def claim(self, n: int) -> list[Work]:
        """Take up to ``n`` pending rows whose lease is free, oldest first, in
        one statement (``UPDATE ... RETURNING``): the write lock is held for
        one short statement however many rows are taken."""
        if n <= 0:
            return []
        now = self.clock()
        free = (select(IntakeRow.id)
                .where(IntakeRow.state == PENDING, IntakeRow.lease_until <= now)
                .order_by(IntakeRow.id).limit(n))
        if self.store.is_postgres:
            free = free.with_for_update(skip_locked=True)
        with self.store.transaction() as connection:
            rows = connection.execute(
                update(IntakeRow)
                .where(IntakeRow.id.in_(free.scalar_subquery()))
                .values(owner=self.owner, lease_until=now + self.lease_seconds, attempts=IntakeRow.attempts + 1)
                .returning(IntakeRow.id, IntakeRow.key, IntakeRow.kind, IntakeRow.payload, IntakeRow.attempts,
                           IntakeRow.received_at, IntakeRow.platform, IntakeRow.workspace,
                           IntakeRow.enterprise)).all()
        claimed = []
        for row in sorted(rows, key=lambda row: row.id):  # RETURNING promises no order
            try:
                payload = json.loads(row.payload) if row.payload else {}
            except ValueError:
                payload = {}
            claimed.append(Work(id=row.id, key=row.key, kind=row.kind, payload=payload,
                               attempts=row.attempts, received_at=row.received_at, tenant=tenant_of(row)))
        return claimed

    def renew(self, ids: Iterable[int]) -> int:
        """Extend this process's leases on ``ids`` (work still in progress)."""
        return self._update_own(ids, lease_until=self.clock() + self.lease_seconds)

    def hand_back(self, ids: Iterable[int]) -> int:
        """Release this process's leases on ``ids`` (work it will not finish:
        it is stopping), not counting the attempt, so any process takes them now."""
        return self._update_own(ids, lease_until=0.0, owner=None, attempts=IntakeRow.attempts - 1)

    def _update_own(self, ids: Iterable[int], **values: Any) -> int:
        """Set ``values`` on the pending rows of ``ids`` that this process holds; returns how many."""
        wanted = list(ids)
        if not wanted:
            return 0
        with self.store.transaction() as connection:
            result = connection.execute(
                update(IntakeRow)
                .where(IntakeRow.id.in_(wanted), IntakeRow.owner == self.owner, IntakeRow.state == PENDING)
                .values(**values))
            return int(result.rowcount or 0)

    def finish(self, work: Work) -> None:
        """Mark ``work`` answered, for good, and forget its payload (the question)."""
        self.finish_many([work])

    def finish_many(self, works: Iterable[Work]) -> None:
        """Mark every one of ``works`` answered in one transaction (workers
        finishing together write once, not once each)."""
        ids = [work.id for work in works]
        if not ids:
            return
        with self.store.transaction() as connection:
            connection.execute(update(IntakeRow).where(IntakeRow.id.in_(ids))
                               .values(state=DONE, payload="", done_at=self.clock()))

    def retry_later(self, work: Work, delay: float) -> bool:
        """Give ``work`` back to be tried again after ``delay`` seconds; after
        too many attempts, set it aside as failed instead. True if it will be retried."""
        if work.attempts >= self.max_attempts:
            self.set_aside(work)
            return False
        with self.store.transaction() as connection:
            connection.execute(update(IntakeRow).where(IntakeRow.id == work.id, IntakeRow.owner == self.owner)
                               .values(lease_until=self.clock() + delay))
        return True

    def set_aside(self, work: Work) -> None:
        """Mark ``work`` failed for good (it cannot succeed) and forget its payload."""
        with self.store.transaction() as connection:
            connection.execute(update(IntakeRow).where(IntakeRow.id == work.id)
                               .values(state=FAILED, payload="", done_at=self.clock()))

    def prune(self, older_than_seconds: float = KEEP_DONE_SECONDS) -> int:
        """Delete finished and failed rows older than Slack could ever retry them."""
        cutoff = self.clock() - older_than_seconds
        with self.store.transaction() as connection:
            result = connection.execute(
                delete(IntakeRow).where(IntakeRow.state != PENDING, IntakeRow.received_at < cutoff))
            return int(result.rowcount or 0)

    def counts(self) -> dict[str, int]:
        """Rows per state (for logs, benchmarks and tests)."""
        with self.store.engine.connect() as connection:
            rows = connection.execute(select(IntakeRow.state, func.count()).group_by(IntakeRow.state)).all()
        return {state: int(n) for state, n in rows}

    def pending(self) -> int:
        """Rows not yet answered (waiting or being worked on)."""
        return self.counts().get(PENDING, 0)

