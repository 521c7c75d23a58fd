"""Whose data a row is: the tenant, one Slack workspace (maybe in an Enterprise
Grid org) or one Discord guild.

Every stored row carries its tenant's ``platform`` and ``workspace`` (a Slack
``team_id`` or a Discord ``guild_id``), and Slack rows also the ``enterprise``
(``enterprise_id``) when the workspace belongs to a Grid org. A read asks for
one tenant and sees only its rows. This module knows nothing of the store or
the platforms: it is the value passed between them, and its text form
(``slack:T123``, ``slack:E1/T123``, ``discord:456``) is what the command line
takes and prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from faq_core.errors import ConfigError

PLATFORMS = ("slack", "discord")
FORMS = "slack:TEAM_ID, slack:ENTERPRISE_ID/TEAM_ID or discord:GUILD_ID"

# What a Slack team/enterprise id or a Discord snowflake looks like: letters and
# digits only. Anything else is refused, never stored or matched.
_ID = re.compile(r"[A-Za-z0-9]{1,64}")
_SNOWFLAKE = re.compile(r"[0-9]{1,20}")  # a Discord id: digits only
SHOWN_CHARS = 40  # of a refused id, in its one-line error


def shown(value: str) -> str:
    """``value`` quoted for a one-line error, cut short: a refused id may be anything, of any length."""
    return repr(value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "…")


def check_id(what: str, value: str, platform: str) -> None:
    """Raise :class:`TenantError` unless ``value`` is an id ``platform`` could
    have given (a Slack id: letters and digits; a Discord one: digits)."""
    pattern = _SNOWFLAKE if platform == "discord" else _ID
    if not pattern.fullmatch(value or ""):
        kind = "digits" if platform == "discord" else "letters and digits"
        raise TenantError(f"{platform} {what} id {shown(value)} is not {kind}")


class TenantError(ConfigError):
    """A tenant written so that it cannot be read; the message says how to write one."""


@dataclass(frozen=True, order=True)
class Tenant:
    """One workspace (Slack team, with its Grid ``enterprise`` if any) or one Discord guild."""

    platform: str
    workspace: str
    enterprise: str | None = None

    def __post_init__(self) -> None:
        if self.platform not in PLATFORMS:
            raise TenantError(f"unknown platform {shown(self.platform)}: use one of {', '.join(PLATFORMS)}")
        check_id("workspace", self.workspace, self.platform)
        if self.enterprise is not None:
            if self.platform != "slack":
                raise TenantError("only a Slack workspace belongs to an enterprise")
            if not _ID.fullmatch(self.enterprise):
                raise TenantError(f"enterprise id {shown(self.enterprise)} is not letters and digits")

    @classmethod
    def slack(cls, team_id: str, enterprise_id: str | None = None) -> Tenant:
        """A Slack workspace, from its ``team_id`` and (Grid only) ``enterprise_id``."""
        return cls("slack", team_id, enterprise_id or None)

    @classmethod
    def discord(cls, guild_id: int | str) -> Tenant:
        """A Discord guild, from its id."""
        return cls("discord", str(guild_id))

    @classmethod
    def parse(cls, text: str) -> Tenant:
        """Read ``slack:T123``, ``slack:E1/T123`` or ``discord:456`` (the form :meth:`__str__` writes)."""
        platform, sep, rest = text.strip().partition(":")
        if not sep or not rest:
            raise TenantError(f"{text!r} is not a tenant: write {FORMS}")
        enterprise, slash, workspace = rest.rpartition("/")
        return cls(platform.lower(), workspace, enterprise if slash else None)

    def __str__(self) -> str:
        if self.enterprise:
            return f"{self.platform}:{self.enterprise}/{self.workspace}"
        return f"{self.platform}:{self.workspace}"
