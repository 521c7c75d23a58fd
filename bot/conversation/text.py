"""Text as every platform cleans and shows it, whatever its markup.

Any text a person sends may be hostile or broken: :func:`encodable` drops
what no encoder or database accepts (lone surrogates, control characters)
before anything stores or embeds it, and :func:`worth_asking` keeps a
question only if a letter or digit is left once its platform's markup is
gone. :func:`shorten` cuts text for display. A platform's own markup (Slack's
``<@U1>``, Discord's ``<@123>``) is its text module's job (``bot/slack/text.py``,
``bot/discord/text.py``).
"""

from __future__ import annotations

import re

# Lone surrogates (JSON allows "\ud800"), C0 controls but tab and newlines, and DEL.
_UNENCODABLE = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def encodable(text: str) -> str:
    """``text`` without lone surrogates and control characters: what is left
    encodes as UTF-8 and is stored and embedded like any other text, so one
    odd message cannot fail the questions batched with it."""
    return _UNENCODABLE.sub(" ", text)


def worth_asking(question: str) -> str:
    """``question`` if it holds a letter or a digit, else empty (nothing but
    mentions, emoji or punctuation was left)."""
    return question if any(ch.isalnum() for ch in question) else ""


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"
