"""The Discord bot's settings, and their start-up checks before anything slow happens.

:class:`DiscordSettings` adds Discord's token, its API URL, test servers, the
hand-off channel and the opted-in forums to the service's settings. A missing
or malformed ``DISCORD_BOT_TOKEN`` stops ``python -m bot discord`` with one
sentence naming it (exit status 2); the value is never echoed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

from bot import messages
from bot.settings import BotSettings
from faq_core.errors import ConfigError
from faq_core.settings import URL, Setting, http_url

# A bot token is three base64url parts joined by dots: the bot's id, a timestamp, an HMAC.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{10,}$")


def _snowflakes(raw: str) -> tuple[int, ...]:
    """Comma-separated Discord ids (guilds, channels)."""
    ids = tuple(int(part) for part in raw.replace(" ", "").split(",") if part)
    if not ids or any(i <= 0 for i in ids):
        raise ValueError(raw)
    return ids


def _snowflake(raw: str) -> str:
    """One Discord id (a channel), kept as the string Discord's JSON carries."""
    (value,) = _snowflakes(raw)
    return str(value)


@dataclass(frozen=True)
class DiscordSettings(BotSettings):
    """The service's settings and Discord's."""

    discord_bot_token: str | None = field(default=None, repr=False)
    discord_guild_ids: tuple[int, ...] = ()
    discord_api_url: str = "https://discord.com/api/v10"
    discord_handoff_channel: str | None = None
    discord_forum_channel_ids: tuple[int, ...] = ()

    ENV: ClassVar[tuple[Setting, ...]] = (
        Setting("discord_bot_token", "DISCORD_BOT_TOKEN"),
        Setting("discord_guild_ids", "DISCORD_GUILD_IDS", _snowflakes, "comma-separated server (guild) ids"),
        Setting("discord_api_url", "DISCORD_API_URL", http_url, URL),
        Setting("discord_handoff_channel", "DISCORD_HANDOFF_CHANNEL", _snowflake, "a Discord channel id (digits)"),
        Setting("discord_forum_channel_ids", "DISCORD_FORUM_CHANNEL_IDS", _snowflakes,
                "comma-separated forum channel ids"),
    )


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


def check_discord_settings(settings: DiscordSettings) -> DiscordConfig:
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
