"""Discord objects as the API and Gateway send them, for the Discord stand-in.

One place builds every JSON object the stand-in hands to a client (users,
the test guild and its channels, messages, INTERACTION_CREATE payloads), with
the fields discord.py 2.x reads, so the REST side and the Gateway side agree on
ids and shapes. Ids are snowflakes (decimal strings); the fixed ids below name
the one bot, guild, channel and person a test needs, and :func:`snowflake`
gives fresh ones.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from typing import Any

BOT_TOKEN = "MTAwMDAwMDAwMDAwMDAwMDAx.standin.bot-token-for-tests"
APPLICATION_ID = "1000000000000000001"
BOT_USER_ID = APPLICATION_ID  # a bot user shares its application's id, as on Discord
GUILD_ID = "1000000000000000100"
CHANNEL_ID = "1000000000000000200"
USER_ID = "1000000000000000300"
DM_CHANNEL_ID = "1000000000000000400"
HANDOFF_CHANNEL_ID = "1000000000000000500"  # where "Ask a person" posts (DISCORD_HANDOFF_CHANNEL)
FORUM_CHANNEL_ID = "1000000000000000600"  # a forum channel (type 15) whose posts are threads
MESSAGE_CONTENT_INTENT = 1 << 15  # privileged: needs the switch on the Bot page (and review past 10,000 users)

DISCORD_EPOCH_MS = 1_420_070_400_000
EPHEMERAL = 1 << 6  # message flag
_TIMESTAMP = "2026-11-28T12:00:00.000000+00:00"
# Administrator: the stand-in does not model permissions, so nothing is refused for lack of them.
_ALL_PERMISSIONS = str(1 << 3)

_increment = itertools.count(1)
_lock = threading.Lock()


def snowflake() -> str:
    """A fresh, increasing snowflake: milliseconds since the Discord epoch, then a counter."""
    with _lock:
        return str(((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (next(_increment) & 0x3FFFFF))


def interaction_token() -> str:
    """An opaque interaction token, unguessable like Discord's."""
    return "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)


def user(user_id: str = USER_ID, name: str = "ada", *, bot: bool = False) -> dict[str, Any]:
    """A user object."""
    return {"id": user_id, "username": name, "global_name": name.title(), "discriminator": "0", "avatar": None,
            "bot": bot, "public_flags": 0, "flags": 0}


def bot_user() -> dict[str, Any]:
    """The bot's own user (``GET /users/@me``, READY's ``user``)."""
    return {**user(BOT_USER_ID, "faq-bot", bot=True), "verified": True, "mfa_enabled": False}


def application() -> dict[str, Any]:
    """The bot's application (``GET /oauth2/applications/@me``, which ``commands.Bot`` asks at login)."""
    return {"id": APPLICATION_ID, "name": "faq-bot", "description": "Answers questions from an FAQ", "icon": None,
            "bot_public": False, "bot_require_code_grant": False, "owner": user(), "team": None,
            "verify_key": "0" * 64, "flags": 0, "bot": bot_user(), "approximate_guild_count": 1,
            "install_params": {"scopes": ["bot", "applications.commands"], "permissions": "0"}}


def member(of: dict[str, Any] | None = None) -> dict[str, Any]:
    """A guild member wrapping ``of`` (default: the test person)."""
    return {"user": of or user(), "roles": [], "joined_at": _TIMESTAMP, "deaf": False, "mute": False, "flags": 0,
            "nick": None, "avatar": None, "pending": False, "permissions": _ALL_PERMISSIONS}


def text_channel(channel_id: str = CHANNEL_ID, name: str = "general") -> dict[str, Any]:
    """A guild text channel (type 0)."""
    return {"id": channel_id, "type": 0, "guild_id": GUILD_ID, "name": name, "position": 0,
            "permission_overwrites": [], "nsfw": False, "topic": None, "last_message_id": None,
            "parent_id": None, "rate_limit_per_user": 0}


def forum_channel(channel_id: str = FORUM_CHANNEL_ID, name: str = "help-forum") -> dict[str, Any]:
    """A guild forum channel (type 15): every post is a thread whose starter message has the thread's id."""
    return {"id": channel_id, "type": 15, "guild_id": GUILD_ID, "name": name, "position": 1,
            "permission_overwrites": [], "nsfw": False, "topic": None, "last_message_id": None,
            "parent_id": None, "rate_limit_per_user": 0, "available_tags": [], "default_reaction_emoji": None,
            "default_sort_order": None, "default_forum_layout": 0, "default_thread_rate_limit_per_user": 0,
            "flags": 0}


def forum_thread(title: str, *, thread_id: str | None = None, parent_id: str = FORUM_CHANNEL_ID,
                 owner_id: str = USER_ID) -> dict[str, Any]:
    """A new forum post's thread as THREAD_CREATE carries it (``newly_created``; no message in it)."""
    return {"id": thread_id or snowflake(), "type": 11, "guild_id": GUILD_ID, "parent_id": parent_id,
            "owner_id": owner_id, "name": title, "last_message_id": None, "rate_limit_per_user": 0,
            "message_count": 0, "member_count": 1, "total_message_sent": 0, "flags": 0, "applied_tags": [],
            "thread_metadata": {"archived": False, "auto_archive_duration": 4320, "locked": False,
                                "archive_timestamp": _TIMESTAMP, "create_timestamp": _TIMESTAMP},
            "newly_created": True}


def dm_channel(channel_id: str = DM_CHANNEL_ID, recipient: dict[str, Any] | None = None) -> dict[str, Any]:
    """A DM channel (type 1) with one recipient."""
    return {"id": channel_id, "type": 1, "last_message_id": None, "recipients": [recipient or user()]}


def guild() -> dict[str, Any]:
    """The test guild as GUILD_CREATE carries it: one text channel, the bot and the person as members."""
    return {
        "id": GUILD_ID, "name": "FAQ Test", "icon": None, "splash": None, "discovery_splash": None,
        "owner_id": USER_ID, "afk_channel_id": None, "afk_timeout": 300, "verification_level": 0,
        "default_message_notifications": 0, "explicit_content_filter": 0, "mfa_level": 0, "nsfw_level": 0,
        "premium_tier": 0, "premium_subscription_count": 0, "preferred_locale": "en-US",
        "system_channel_id": None, "system_channel_flags": 0, "rules_channel_id": None,
        "public_updates_channel_id": None, "features": [], "emojis": [], "stickers": [],
        "roles": [{"id": GUILD_ID, "name": "@everyone", "permissions": _ALL_PERMISSIONS, "position": 0,
                   "color": 0, "hoist": False, "managed": False, "mentionable": False, "flags": 0}],
        "joined_at": _TIMESTAMP, "large": False, "unavailable": False, "member_count": 2,
        "members": [member(bot_user()), member()], "channels": [text_channel(), forum_channel()], "threads": [],
        "voice_states": [], "presences": [], "stage_instances": [], "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }


def message(content: str, *, channel_id: str = CHANNEL_ID, author: dict[str, Any] | None = None,
            guild_id: str | None = GUILD_ID, mentions: list[dict[str, Any]] | None = None,
            message_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """A message object (MESSAGE_CREATE's ``d``, and what message-creating REST routes return)."""
    author = author or user()
    payload: dict[str, Any] = {
        "id": message_id or snowflake(), "type": 0, "channel_id": channel_id, "author": author,
        "content": content, "timestamp": _TIMESTAMP, "edited_timestamp": None, "tts": False,
        "mention_everyone": False, "mentions": mentions or [], "mention_roles": [], "attachments": [],
        "embeds": [], "components": [], "pinned": False, "flags": 0,
    }
    if guild_id is not None:
        payload["guild_id"] = guild_id
        payload["member"] = {k: v for k, v in member(author).items() if k != "user"}
    payload.update(extra)
    return payload


def mention_message(text: str, *, message_id: str | None = None) -> dict[str, Any]:
    """A guild message from the test person that mentions the bot: ``<@bot> text``."""
    return message(f"<@{BOT_USER_ID}> {text}", mentions=[{**bot_user(), "member": member(bot_user())}],
                   message_id=message_id)


def dm_message(text: str, *, message_id: str | None = None) -> dict[str, Any]:
    """A direct message from the test person to the bot."""
    return message(text, channel_id=DM_CHANNEL_ID, guild_id=None, message_id=message_id)


def _interaction(kind: int, data: dict[str, Any], *, channel_id: str = CHANNEL_ID,
                 **extra: Any) -> dict[str, Any]:
    return {
        "id": snowflake(), "application_id": APPLICATION_ID, "type": kind, "token": interaction_token(),
        "version": 1, "guild_id": GUILD_ID, "channel_id": channel_id, "channel": text_channel(channel_id),
        "member": member(), "data": data, "locale": "en-US", "guild_locale": "en-US",
        "app_permissions": _ALL_PERMISSIONS, "entitlements": [], "context": 0,
        "authorizing_integration_owners": {"0": GUILD_ID}, "attachment_size_limit": 10 * 1024 * 1024, **extra,
    }


def slash_command(name: str, options: dict[str, str], *, command_id: str | None = None,
                  focused: str | None = None, guild_command: bool = False) -> dict[str, Any]:
    """INTERACTION_CREATE for ``/name`` with string options; ``focused`` names the option being
    typed, which makes it an autocomplete interaction (type 4) instead of a command (type 2).
    ``data.guild_id`` is set only for a command registered to the guild, as Discord does."""
    opts: list[dict[str, Any]] = []
    for key, value in options.items():
        opt: dict[str, Any] = {"name": key, "type": 3, "value": value}
        if key == focused:
            opt["focused"] = True
        opts.append(opt)
    data: dict[str, Any] = {"id": command_id or snowflake(), "name": name, "type": 1, "options": opts}
    if guild_command:
        data["guild_id"] = GUILD_ID
    return _interaction(4 if focused else 2, data)


def button_click(custom_id: str, on_message: dict[str, Any]) -> dict[str, Any]:
    """INTERACTION_CREATE for a click on button ``custom_id`` of ``on_message`` (type 3).
    In a DM, as Discord sends it: no guild, the person as ``user`` (not ``member``)."""
    channel_id = str(on_message.get("channel_id", CHANNEL_ID))
    payload = _interaction(3, {"custom_id": custom_id, "component_type": 2}, message=on_message,
                           channel_id=channel_id)
    if channel_id == DM_CHANNEL_ID:
        for key in ("guild_id", "member", "guild_locale"):
            payload.pop(key)
        payload.update(user=user(), channel=dm_channel(), context=1,
                       authorizing_integration_owners={"1": USER_ID})
    return payload
