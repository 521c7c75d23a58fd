"""Start-up checks of the Discord settings, before anything slow happens.

A missing or malformed ``DISCORD_BOT_TOKEN`` stops ``python -m bot discord``
with one sentence naming it (exit status 2); the value is never echoed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.conversation import messages
from faq_core.errors import ConfigError
from faq_core.settings import Settings

# A bot token is three base64url parts joined by dots: the bot's id, a timestamp, an HMAC.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{10,}$")


@dataclass(frozen=True)
class DiscordConfig:
    """The checked Discord settings."""

    token: str
    guild_ids: tuple[int, ...]
    api_url: str


def _why_malformed(token: str) -> str:
    if token.lower().startswith("bot "):
        return "it starts with 'Bot ': paste the token alone, without the prefix"
    if any(c.isspace() or c in "'\"" for c in token):
        return "it holds spaces, quotes or line breaks (check what was pasted)"
    if token.count(".") != 2:
        return "a bot token has three parts separated by dots (the client secret or public key is not it)"
    return "it holds characters a Discord bot token never has"


def check_discord_settings(settings: Settings) -> DiscordConfig:
    """The Discord settings, checked. Raises :class:`ConfigError` naming the bad one."""
    token = settings.discord_bot_token
    if not token:
        raise ConfigError(messages.STARTUP_MISSING.format(name="DISCORD_BOT_TOKEN",
                                                          hint=messages.HINT_DISCORD_TOKEN))
    if not _TOKEN.match(token):
        raise ConfigError(messages.STARTUP_MALFORMED.format(name="DISCORD_BOT_TOKEN", reason=_why_malformed(token),
                                                            hint=messages.HINT_DISCORD_TOKEN))
    return DiscordConfig(token=token, guild_ids=settings.discord_guild_ids,
                         api_url=settings.discord_api_url.rstrip("/"))
