"""From Slack's message markup to the plain question the engine should embed, and back.

Slack sends ``<@U123> how do I …`` for a mention, ``<#C1|general>`` for a
channel, ``<https://x|label>`` for links, ``&amp;``-escaped ``& < >``, emoji as
``:shortcode:`` and code in backticks. The engine wants the words a person
would read, so this module strips the bot's own mention and turns the rest
into readable text; :func:`escape` makes anyone's text show literally in
Slack's mrkdwn.

Any text here may be hostile (Slack allows 40,000 characters), so every
pattern runs in linear time: markup bodies stop at the next ``<`` (Slack
escapes a literal one as ``&lt;``, so a raw ``<`` always starts new markup),
and an emoji shortcode is matched without nested backtracking. Lone
surrogates and control characters, which no encoder or database accepts, are
dropped first (:func:`bot.conversation.text.encodable`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.conversation.text import encodable, worth_asking

_BOT_MENTION = "<@{user}(?:\\|[^<>]*)?>"
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^<>]*))?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^<>]*))?>")
_SPECIAL = re.compile(r"<!([a-z]+)(?:\^[^|<>]*)?(?:\|([^<>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto|tel):[^|<>]+)(?:\|([^<>]*))?>")
# A shortcode holds a letter or ``_`` (so ``10:30:45`` is no emoji): checked by a
# lookahead, then the name taken possessively, so no split of it is ever retried.
_EMOJI = re.compile(r"(?<!\w):(?:[+-]1|(?=[0-9+'\-]*+[a-z_])[a-z0-9_+'\-]++):(?!\w)", re.IGNORECASE)
_FENCE = re.compile(r"```")
_INLINE_CODE = re.compile(r"`([^`]*)`")


def strip_bot_mention(text: str, bot_user_id: str | None) -> str:
    """``text`` without any mention of the bot itself."""
    if not bot_user_id:
        return text
    return re.sub(_BOT_MENTION.format(user=re.escape(bot_user_id)), " ", text)


def readable(text: str, names: Callable[[str], str | None] | None = None) -> str:
    """Slack markup made readable: people by name (the label Slack sent, else
    ``names(user_id)``, else the id), channels by name (or id), links by
    label, ``&amp;`` unescaped, code fences dropped (their content kept),
    emoji shortcodes removed, white space collapsed."""
    text = _USER.sub(lambda m: "@" + (m.group(2) or (names(m.group(1)) if names else None) or m.group(1)), text)
    text = _CHANNEL.sub(lambda m: "#" + (m.group(2) or m.group(1)), text)
    text = _SPECIAL.sub(lambda m: m.group(2) or "@" + m.group(1), text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1).removeprefix("mailto:"), text)
    text = _FENCE.sub(" ", text)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _EMOJI.sub(" ", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


def question_from(
    text: str | None, bot_user_id: str | None, names: Callable[[str], str | None] | None = None
) -> str:
    """The question in a message: without the bot's mention, made readable
    (other people by ``names``); empty when nothing but mentions, emoji or
    punctuation is left."""
    return worth_asking(readable(strip_bot_mention(encodable(text or ""), bot_user_id), names))


def escape(text: str) -> str:
    """Escape ``& < >`` so user text shows literally in mrkdwn (no pings, no links)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
