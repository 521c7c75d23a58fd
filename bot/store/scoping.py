"""Which tenant a stored row belongs to, and the one way reads ask for one tenant's rows.

Every table that holds what people asked, voted or decided carries its
tenant in three columns: ``platform`` (``slack``, ``discord``), ``workspace``
(a Slack ``team_id`` or a Discord ``guild_id``) and, for a Slack workspace in
an Enterprise Grid org, ``enterprise``. :data:`TENANT_TABLES` lists them (the
erasure walks it, a test checks it against the schema). A row is written with
:func:`tenant_values` of the tenant the *platform* vouched for (Slack: the
ids Bolt took from the signed request's context, which also choose the
token; Discord: the gateway's guild), never with ids read from a payload's
inner fields or from a button's value, which a sender can write.

A row whose ``workspace`` is NULL was stored without a tenant: before rows
were scoped, or a Discord DM (no guild). It belongs to "the single-workspace
deployment": a read includes it only when the store holds one tenant and the
read is for that tenant (:func:`scope_for`), so it never reaches a second
workspace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, column, false, or_, select, table, true, union
from sqlalchemy.engine import Connection

from bot.tenancy import PLATFORMS, Tenant

if TYPE_CHECKING:
    from bot.store.database import Store

# Every tenant-scoped table and its primary key column: what erasure deletes from.
TENANT_TABLES: Mapping[str, str] = {
    "intake": "id",
    "questions": "id",
    "question_picks": "id",
    "feedback": "id",
    "button_refs": "answer_id",
    "handoffs": "id",
    "review_marks": "id",  # before the decisions they belong to
    "review_decisions": "id",
    "digests": "id",
}


@dataclass(frozen=True)
class Scope:
    """What a read may see: ``tenant``'s rows, and with ``unscoped`` also the
    rows stored without a tenant (the store holds no other tenant). A scope
    with no tenant sees only the rows stored without one."""

    tenant: Tenant | None
    unscoped: bool = False

    def where(self, model: Any) -> ColumnElement[bool]:
        """The condition a query on ``model`` (a mapped class or a table) adds to see only this scope."""
        columns = getattr(model, "c", model)
        platform, workspace = columns.platform, columns.workspace
        own: ColumnElement[bool] = false()
        if self.tenant is not None:
            own = and_(platform == self.tenant.platform, workspace == self.tenant.workspace)
        if self.tenant is None or self.unscoped:
            # stored without a tenant; of this platform, or from before rows had one
            same_platform = true() if self.tenant is None else or_(platform.is_(None),
                                                                  platform == self.tenant.platform)
            return or_(own, and_(workspace.is_(None), same_platform))
        return own

    def __str__(self) -> str:
        return str(self.tenant) if self.tenant is not None else "the single-workspace deployment"


def only(tenant: Tenant | None) -> Scope:
    """Exactly ``tenant``'s rows (None: exactly the rows stored without a tenant): what a write looks up."""
    return Scope(tenant)


def tenant_of(row: Any) -> Tenant | None:
    """The tenant a row (with the tenant columns) was stored for; None when stored without one."""
    if row.workspace is None or row.platform is None:
        return None
    try:
        return Tenant(row.platform, row.workspace, row.enterprise)
    except ValueError:
        return None


def tenant_values(tenant: Tenant | None) -> dict[str, str | None]:
    """The tenant columns of a row written for ``tenant`` (all NULL: stored without one)."""
    if tenant is None:
        return {"platform": None, "workspace": None, "enterprise": None}
    return {"platform": tenant.platform, "workspace": tenant.workspace, "enterprise": tenant.enterprise}


def _tenant_rows(connection: Connection) -> list[Any]:
    picked = []
    for name in ("questions", "feedback"):
        rows = table(name, column("platform"), column("workspace"), column("enterprise"))
        picked.append(select(rows.c.platform, rows.c.workspace, rows.c.enterprise)
                      .where(rows.c.workspace.is_not(None), rows.c.platform.in_(PLATFORMS)).distinct())
    return list(connection.execute(union(*picked)).all())


def store_tenants(store: Store) -> list[Tenant]:
    """The tenants the store holds questions or votes of, sorted (what ``--workspace``/``--guild`` choose from)."""
    with store.engine.connect() as connection:
        rows = _tenant_rows(connection)
    found: dict[tuple[str, str], Tenant] = {}
    for platform, workspace, enterprise in rows:
        try:
            tenant = Tenant(platform, workspace, enterprise)
        except ValueError:
            continue  # an id stored before ids were checked: no tenant anyone can name
        if (platform, workspace) not in found or enterprise:
            found[(platform, workspace)] = tenant
    return sorted(found.values(), key=lambda t: (t.platform, t.workspace))


def scope_for(store: Store, tenant: Tenant | None) -> Scope:
    """The scope of a read for ``tenant``: its rows, and the rows stored
    without a tenant when the store holds no tenant but this one."""
    if tenant is None:
        return Scope(None)
    held = store_tenants(store)
    alone = all((t.platform, t.workspace) == (tenant.platform, tenant.workspace) for t in held)
    return Scope(tenant, unscoped=alone)
