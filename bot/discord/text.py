"""From Discord's message markup to the plain question the engine should embed.

Discord sends ``<@123>`` for a mention (``<@!123>`` from older clients),
``<@&4>`` for a role, ``<#5>`` for a channel, ``<:name:6>`` for a custom emoji,
and markdown. The bot's own mention is dropped, other mentions become
``@name`` (so nobody is pinged by an echo of the question), and what is
left must hold a letter or digit to count as a question.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.conversation.text import encodable, worth_asking

_USER = re.compile(r"<@!?(\d{1,20})>")
_ROLE = re.compile(r"<@&(\d{1,20})>")
_CHANNEL = re.compile(r"<#(\d{1,20})>")
_EMOJI = re.compile(r"<a?:\w{1,32}:\d{1,20}>")
_EVERYONE = re.compile(r"@(everyone|here)\b")
_CODE = re.compile(r"`+")


def question_from(content: str | None, bot_user_id: str | None, names: Mapping[str, str] | None = None) -> str:
    """The question in a Discord message: without the bot's mention, other
    mentions by name (``names``: id → name, else the id), custom emoji and
    code fences dropped; empty when nothing worth asking is left."""
    text = encodable(content or "")
    names = names or {}
    if bot_user_id:
        text = re.sub(rf"<@!?{re.escape(bot_user_id)}>", " ", text)
    text = _USER.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), text)
    text = _ROLE.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), text)
    text = _CHANNEL.sub(lambda m: "#" + names.get(m.group(1), m.group(1)), text)
    text = _EMOJI.sub(" ", text)
    text = _EVERYONE.sub(r"\1", text)
    text = _CODE.sub(" ", text)
    return worth_asking(" ".join(text.split()))


def as_id(value: object) -> str | None:
    """A Discord id as the string payloads carry, or None when absent."""
    return None if value is None else str(value)
