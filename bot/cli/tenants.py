"""``--workspace`` and ``--guild``: which tenant's rows a command reads.

``review``, ``digest``, ``status`` and ``publish``'s gate read one tenant's
questions, votes and decisions (:mod:`bot.store.scoping`). With neither
option, the store's one tenant is meant when it holds exactly one (or none:
a store from before rows had tenants); with several, the command stops with
one line listing them and how to choose.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.tenancy import Tenant, TenantError
from faq_core.errors import ConfigError

if TYPE_CHECKING:  # the parser is built without the store's libraries; only a command that reads loads them
    from bot.store.database import Store
    from bot.store.scoping import Scope


def add_tenant_options(parser: argparse.ArgumentParser) -> None:
    """``--workspace`` / ``--guild`` (one at most)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--workspace", default=None, metavar="TEAM_ID",
                       help="a Slack workspace: its team id (T…), or ENTERPRISE_ID/TEAM_ID in a Grid org "
                            "(default: the store's one workspace or server)")
    group.add_argument("--guild", default=None, metavar="GUILD_ID", help="a Discord server: its guild id")


def chosen_tenant(args: argparse.Namespace) -> Tenant | None:
    """The tenant ``--workspace``/``--guild`` name (None: neither given). Raises a one-line error for an id
    that is not one."""
    try:
        if getattr(args, "guild", None):
            return Tenant.discord(str(args.guild).removeprefix("discord:"))
        workspace = getattr(args, "workspace", None)
        if workspace:
            return Tenant.parse(workspace if ":" in workspace else f"slack:{workspace}")
    except TenantError as error:
        raise ConfigError(f"--workspace/--guild: {error}") from None
    return None


def resolve_scope(store: Store, args: argparse.Namespace) -> Scope:
    """What the command reads: the tenant chosen, else the store's only one
    (or, with none, the rows stored without one); several and none chosen:
    a one-line :class:`ConfigError` listing them."""
    from bot.store.scoping import Scope, scope_for, store_tenants

    tenant = chosen_tenant(args)
    if tenant is not None:
        return scope_for(store, tenant)
    held = store_tenants(store)
    if not held:
        return Scope(None)
    if len(held) == 1:
        return scope_for(store, held[0])
    shown = ", ".join(str(t) for t in held[:6]) + (f" and {len(held) - 6} more" if len(held) > 6 else "")
    raise ConfigError(f"the store holds {len(held)} workspaces and servers ({shown}): choose one with "
                      "--workspace TEAM_ID or --guild GUILD_ID")
