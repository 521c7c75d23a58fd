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


def shown_id(value: str) -> str:
    """``value`` quoted for an error line, cut to its first 64 characters: an
    id pasted by mistake (a whole message, a file) must not flood the terminal."""
    return repr(value[:64]) + (f" (and {len(value) - 64} more characters)" if len(value) > 64 else "")


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
            raise TenantError(f"unknown platform {self.platform!r}: use one of {', '.join(PLATFORMS)}")
        if not _ID.fullmatch(self.workspace or ""):
            raise TenantError(f"{self.platform} workspace id {shown_id(self.workspace)} is not letters and digits")
        if self.enterprise is not None:
            if self.platform != "slack":
                raise TenantError("only a Slack workspace belongs to an enterprise")
            if not _ID.fullmatch(self.enterprise):
                raise TenantError(f"enterprise id {shown_id(self.enterprise)} is not letters and digits")

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
