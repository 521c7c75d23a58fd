"""Which FAQ revision each replica serves, and the pin that sends them all back.

Every bot process is a replica with an id of its own (``Store.owner``: host,
process and a random tag). Its :class:`~bot.serving.reload.Reloader` records,
after every check, the revision it serves and since when
(:meth:`ReplicaRegistry.record`), and asks the store for a pin before it asks
the Hub (:meth:`ReplicaRegistry.pinned`). ``faq-bot rollback REVISION`` writes
the pin (:func:`pin`); every replica then loads that revision at its next
check, and ``faq-bot rollback --unpin`` lets them follow their branch again.
``faq-bot status`` and ``/readyz`` read :func:`replicas` to show whether they
have converged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from bot.store.database import IndexPin, ReplicaIndexRow, ReplicaRow, Store

PIN_ROW = 1


@dataclass(frozen=True)
class Replica:
    """One replica as the store last heard from it."""

    replica_id: str
    index_name: str
    revision: str
    serving_since: datetime
    seen_at: datetime
    last_error: str | None

    def stale(self, now: datetime, after: timedelta) -> bool:
        """Not heard from for ``after``: stopped, or unable to reach the store."""
        return now - _aware(self.seen_at) > after

    def as_json(self) -> dict[str, Any]:
        return {"replica": self.replica_id, "index": self.index_name, "revision": self.revision,
                "serving_since": _aware(self.serving_since).isoformat(timespec="seconds"),
                "seen_at": _aware(self.seen_at).isoformat(timespec="seconds"), "last_error": self.last_error}


@dataclass(frozen=True)
class Pin:
    """The revision every replica is pinned to."""

    revision: str
    pinned_at: datetime
    reason: str | None


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class ReplicaRegistry:
    """This replica's side of the table (what a :class:`~bot.serving.reload.Reloader` reports to)."""

    def __init__(self, store: Store, replica_id: str | None = None) -> None:
        self.store = store
        self.replica_id = (replica_id or store.owner)[:64]

    def pinned(self) -> str | None:
        found = current_pin(self.store)
        return found.revision if found else None

    def record(self, revision: str, *, index_name: str, changed_at: datetime, error: str | None = None) -> None:
        values = {"index_name": index_name[:255], "revision": revision[:64], "serving_since": changed_at,
                  "seen_at": datetime.now(UTC), "last_error": error}
        _upsert(self.store, ReplicaRow, ReplicaRow.replica_id == self.replica_id,
                {"replica_id": self.replica_id, **values}, values)

    def forget(self) -> None:
        """Remove this replica's row (a clean stop)."""
        with self.store.transaction() as connection:
            connection.execute(delete(ReplicaRow).where(ReplicaRow.replica_id == self.replica_id))


class RoutedIndexRegistry:
    """This replica's row for one routed index (what that index's
    :class:`~bot.serving.reload.Reloader` reports to): which revision of it the
    replica serves. Routed indexes follow their own ref; ``rollback`` pins only ``FAQ_INDEX``."""

    def __init__(self, store: Store, index_ref: str, replica_id: str | None = None) -> None:
        self.store = store
        self.index_ref = index_ref[:512]
        self.replica_id = (replica_id or store.owner)[:64]

    def pinned(self) -> str | None:
        return None

    def record(self, revision: str, *, index_name: str, changed_at: datetime, error: str | None = None) -> None:
        values = {"revision": revision[:64], "serving_since": changed_at, "seen_at": datetime.now(UTC),
                  "last_error": error}
        where = (ReplicaIndexRow.replica_id == self.replica_id) & (ReplicaIndexRow.index_ref == self.index_ref)
        _upsert(self.store, ReplicaIndexRow, where,
                {"replica_id": self.replica_id, "index_ref": self.index_ref, **values}, values)

    def forget(self) -> None:
        """Remove the row (the index was evicted, or the replica stops)."""
        with self.store.transaction() as connection:
            connection.execute(delete(ReplicaIndexRow).where(ReplicaIndexRow.replica_id == self.replica_id,
                                                             ReplicaIndexRow.index_ref == self.index_ref))


@dataclass(frozen=True)
class RoutedReplica:
    """One replica serving one routed index, as the store last heard."""

    index_ref: str
    replica_id: str
    revision: str
    seen_at: datetime
    last_error: str | None


def routed_replicas(store: Store) -> list[RoutedReplica]:
    """Every routed index some replica has loaded, by index, then replica."""
    with Session(store.engine) as session:
        rows = session.scalars(select(ReplicaIndexRow).order_by(ReplicaIndexRow.index_ref,
                                                                ReplicaIndexRow.replica_id)).all()
        return [RoutedReplica(r.index_ref, r.replica_id, r.revision, _aware(r.seen_at), r.last_error) for r in rows]


def replicas(store: Store) -> list[Replica]:
    """Every replica the store knows, most recently seen first."""
    with Session(store.engine) as session:
        rows = session.scalars(select(ReplicaRow).order_by(ReplicaRow.seen_at.desc())).all()
        return [Replica(r.replica_id, r.index_name, r.revision, r.serving_since, r.seen_at, r.last_error)
                for r in rows]


def current_pin(store: Store) -> Pin | None:
    """The pin ``faq-bot rollback`` set, if any."""
    with Session(store.engine) as session:
        row = session.get(IndexPin, PIN_ROW)
        return Pin(row.revision, _aware(row.pinned_at), row.reason) if row else None


def pin(store: Store, revision: str, reason: str | None = None) -> None:
    """Pin every replica to ``revision`` (replacing any earlier pin)."""
    values = {"revision": revision, "pinned_at": datetime.now(UTC), "reason": reason}
    _upsert(store, IndexPin, IndexPin.id == PIN_ROW, {"id": PIN_ROW, **values}, values)


def _upsert(store: Store, table: Any, where: Any, insert_values: dict[str, Any], update_values: dict[str, Any]) -> None:
    """Update the row ``where`` selects, or insert it (in one write transaction)."""
    with store.transaction() as connection:
        if not connection.execute(update(table).where(where).values(**update_values)).rowcount:
            connection.execute(insert(table).values(**insert_values))


def unpin(store: Store) -> bool:
    """Remove the pin (replicas follow their branch again); whether there was one."""
    with store.transaction() as connection:
        return bool(connection.execute(delete(IndexPin).where(IndexPin.id == PIN_ROW)).rowcount)
