"""The tenant of a Slack request: the workspace (and Grid org) whose data it
may read and write, taken from what Bolt authorized, never from what the
sender wrote inside the payload."""

from __future__ import annotations

import logging

from slack_bolt import BoltContext

from bot.tenancy import Tenant, TenantError

log = logging.getLogger(__name__)


def request_tenant(context: BoltContext) -> Tenant | None:
    """The workspace a request is for, as Bolt authorized it: the team and
    Grid org of the installation whose token serves it (single-workspace
    mode: the token's own, from ``auth.test``), else the ids Bolt took from
    the signed request's envelope (``authorizations``, ``team``). Never the
    ``team``/``team_id`` fields inside an event, a button or a view, which a
    sender can write: what is stored for a request is always the tenant whose
    token answers it."""
    authorized = context.authorize_result
    team = (authorized.team_id if authorized is not None else None) or context.team_id
    enterprise = (authorized.enterprise_id if authorized is not None else None) or context.enterprise_id
    if not team:
        return None
    try:
        return Tenant.slack(team, enterprise)
    except TenantError:
        log.warning("a request named a workspace id that is not one (%r); stored without a tenant", team[:70])
        return None
