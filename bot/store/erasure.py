"""Deleting everything one tenant stored, once it has left.

A workspace that uninstalls the app, or a Discord guild that removes the bot,
is scheduled here (:func:`schedule_erasure`, one ``scheduled_erasures`` row)
for deletion after the retention period (``FEEDBACK_RETENTION_DAYS``): time
for a mistaken uninstall to be undone (:func:`cancel_erasure`, when the
workspace installs the app again) and for an admin to export what they need.
From ``due_at`` on, the store's periodic clean-up (:func:`erase_due`, run by
:mod:`bot.features.upkeep`) deletes that tenant's rows from every
tenant-scoped table (:data:`bot.store.scoping.TENANT_TABLES`) in bounded
batches, so a large tenant never holds a long transaction, and marks the
erasure done once nothing of it is left. Running it again, on any replica,
after a crash or at once, deletes nothing twice and nothing else: each batch
deletes by primary key only rows of that tenant.

A Slack Grid org uninstalled as a whole is scheduled with
``whole_enterprise=True``: every workspace of the org goes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, DateTime, Integer, String, and_, column, delete, insert, select, table, update
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.database import DEFAULT_RETENTION_DAYS, Base, Store
from bot.store.scoping import TENANT_TABLES
from bot.tenancy import Tenant

log = logging.getLogger(__name__)

BATCH_ROWS = 500
# At most this many batches per clean-up run (the rest waits for the next run: the clean-up is hourly).
BATCHES_PER_RUN = 200


class ErasureRow(Base):
    """One tenant whose stored rows are deleted from ``due_at`` on."""

    __tablename__ = "scheduled_erasures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    workspace: Mapped[str | None] = mapped_column(String(64), nullable=True)  # None: a whole Grid org
    enterprise: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deleted: Mapped[int] = mapped_column(Integer, default=0)


@dataclass(frozen=True)
class Erasure:
    """A scheduled erasure as callers see it."""

    id: int
    tenant: Tenant
    whole_enterprise: bool
    reason: str
    due_at: datetime
    done_at: datetime | None
    deleted: int


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _pending(tenant: Tenant, whole_enterprise: bool) -> ColumnElement[bool]:
    if whole_enterprise:
        return and_(ErasureRow.platform == tenant.platform, ErasureRow.workspace.is_(None),
                    ErasureRow.enterprise == tenant.enterprise, ErasureRow.done_at.is_(None))
    return and_(ErasureRow.platform == tenant.platform, ErasureRow.workspace == tenant.workspace,
                ErasureRow.done_at.is_(None))


def schedule_erasure(store: Store, tenant: Tenant, *, after: timedelta = timedelta(days=DEFAULT_RETENTION_DAYS),
                     reason: str = "uninstalled", whole_enterprise: bool = False,
                     now: datetime | None = None) -> Erasure:
    """Schedule the deletion of everything ``tenant`` stored, ``after`` from
    ``now`` (with ``whole_enterprise``: of every workspace of its Grid org).
    Idempotent: an erasure of the tenant already pending is kept, with its
    earlier due time; a second uninstall event never postpones one."""
    if whole_enterprise and not tenant.enterprise:
        raise ValueError("a whole-enterprise erasure needs the tenant's enterprise id")
    now = now or datetime.now(UTC)
    with store.transaction() as connection:
        found = connection.execute(select(ErasureRow).where(_pending(tenant, whole_enterprise))
                                   .order_by(ErasureRow.due_at).limit(1)).first()
        if found is not None:
            kept = found.id
        else:
            kept = connection.execute(insert(ErasureRow).values(
                platform=tenant.platform, workspace=None if whole_enterprise else tenant.workspace,
                enterprise=tenant.enterprise, reason=reason[:64], requested_at=now, due_at=now + after,
                deleted=0).returning(ErasureRow.id)).scalar_one()
            log.info("scheduled the erasure of %s's stored data for %s (%s)", tenant, (now + after).date(), reason)
    return next(e for e in erasures(store) if e.id == kept)


def cancel_erasure(store: Store, tenant: Tenant, *, whole_enterprise: bool = False) -> bool:
    """Drop ``tenant``'s pending erasure (it installed the app again before it
    was due); True if there was one. Rows already deleted stay deleted."""
    with store.transaction() as connection:
        result = connection.execute(delete(ErasureRow).where(_pending(tenant, whole_enterprise),
                                                             ErasureRow.deleted == 0))
        return bool(result.rowcount)


def erasures(store: Store) -> list[Erasure]:
    """Every scheduled erasure, oldest first (``faq-bot status``, tests)."""
    with store.engine.connect() as connection:
        rows = connection.execute(select(ErasureRow).order_by(ErasureRow.id)).all()
    found = []
    for row in rows:
        whole = row.workspace is None
        tenant = Tenant(row.platform, row.workspace or row.enterprise, row.enterprise)
        found.append(Erasure(id=row.id, tenant=tenant, whole_enterprise=whole, reason=row.reason,
                             due_at=_aware(row.due_at), done_at=_aware(row.done_at) if row.done_at else None,
                             deleted=row.deleted))
    return found


def _erase_batch(store: Store, name: str, key: str, erasure: Erasure, rows: int) -> int:
    """Delete up to ``rows`` of ``erasure``'s rows from table ``name``; returns how many."""
    scoped = table(name, column(key), column("platform"), column("workspace"), column("enterprise"))
    which = and_(scoped.c.platform == erasure.tenant.platform,
                 scoped.c.enterprise == erasure.tenant.enterprise if erasure.whole_enterprise
                 else scoped.c.workspace == erasure.tenant.workspace)
    with store.transaction() as connection:
        keys = list(connection.scalars(select(scoped.c[key]).where(which).limit(rows)))
        if not keys:
            return 0
        # by key, and the tenant again: a row's tenant never changes, but nothing else is ever deleted
        return int(connection.execute(delete(scoped).where(scoped.c[key].in_(keys), which)).rowcount or 0)


def erase_due(store: Store, *, now: datetime | None = None, batch_rows: int = BATCH_ROWS,
              max_batches: int = BATCHES_PER_RUN) -> int:
    """Delete the rows of every erasure due by ``now``, in batches of
    ``batch_rows``, at most ``max_batches`` this run; an erasure with nothing
    left is marked done. Returns how many rows were deleted."""
    now = now or datetime.now(UTC)
    with store.engine.connect() as connection:
        due = [row.id for row in connection.execute(
            select(ErasureRow.id).where(ErasureRow.done_at.is_(None), ErasureRow.due_at <= now)
            .order_by(ErasureRow.due_at))]
    if not due:
        return 0
    total, budget = 0, max_batches
    for erasure in (e for e in erasures(store) if e.id in due):
        deleted, finished = 0, True
        for name, key in TENANT_TABLES.items():
            while True:
                if budget <= 0:
                    finished = False
                    break
                n = _erase_batch(store, name, key, erasure, batch_rows)
                budget -= 1 if n else 0  # finding a table already empty costs one cheap lookup, no batch
                deleted += n
                if n < batch_rows:
                    break
            if not finished:
                break
        with store.transaction() as connection:
            connection.execute(update(ErasureRow).where(ErasureRow.id == erasure.id).values(
                deleted=ErasureRow.deleted + deleted, **({"done_at": now} if finished else {})))
        total += deleted
        log.info("erased %d stored rows of %s%s", deleted, erasure.tenant, "" if finished else " (more next run)")
        if not finished:
            break
    return total
