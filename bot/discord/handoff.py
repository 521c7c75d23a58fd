""""Ask a person" on Discord: pass an unanswered question to ``DISCORD_HANDOFF_CHANNEL``, once.

The flow is the core's (:func:`bot.features.handoff.hand_off`: one claim in
the store per answer, a later click told where the question already went);
Discord's part is :class:`DiscordClick`: the first click posts the question
to the hand-off channel with a jump link to the message that asked it, and
the clicker is told privately where it went. The post carries an enforced
nonce made from the answer id, so a click worked again after a crash gets
Discord's first post back instead of posting twice. A channel Discord refuses
(unknown, or the bot may not post there) releases the claim, says so to the
clicker and logs the setting to fix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import discord

from bot import messages
from bot.conversation.payloads import AnswerRef
from bot.conversation.replies import notice_reply
from bot.conversation.text import shorten
from bot.discord import render
from bot.discord.rest import DiscordREST, is_transient
from bot.features.handoff import HandOffRefused, hand_off
from bot.store.database import Store
from bot.store.intake import Work

log = logging.getLogger(__name__)

QUESTION_CHARS = 1500  # of the post's 2,000 characters: the rest is the header and the link
JUMP_URL = "https://discord.com/channels/{guild}/{channel}/{message}"
MESSAGE_KEY = "message:"


@dataclass(frozen=True)
class Origin:
    """Where a question was asked: a message (in a server or a DM), or ``/faq``."""

    message_id: str | None
    channel_id: str | None
    guild_id: str | None

    def link(self) -> str | None:
        """The jump link to the asking message, for people in the server; None for a DM or ``/faq``."""
        if self.message_id is None or self.channel_id is None or self.guild_id is None:
            return None
        return JUMP_URL.format(guild=self.guild_id, channel=self.channel_id, message=self.message_id)


def origin_of(key: str | None, click: dict[str, Any]) -> Origin:
    """Where the question behind a click was asked. Its intake key names the
    message (``message:<id>``); the reply, and so the button, sits in that
    message's channel, which the click names. ``/faq`` has no message."""
    message_id = key[len(MESSAGE_KEY):] if key and key.startswith(MESSAGE_KEY) else None
    return Origin(message_id, click.get("channel_id"), click.get("guild_id"))


def handoff_post(user: str, question: str, origin: Origin) -> dict[str, Any]:
    """The message posted in the hand-off channel (it pings nobody)."""
    text = messages.DISCORD_HANDOFF_POST.format(user=user, question=render.escape(shorten(question, QUESTION_CHARS)))
    link = origin.link()
    if link is not None:
        where = messages.DISCORD_HANDOFF_POST_LINK.format(link=link)
    elif origin.message_id is not None:
        where = messages.DISCORD_HANDOFF_POST_DM
    else:
        where = messages.HANDOFF_POST_NO_LINK
    return render.render(notice_reply(f"{text}\n{where}"))


class DiscordClick:
    """One "Ask a person" click on Discord, as the core's hand-off flow uses it
    (:class:`bot.features.handoff.HandOffClick`)."""

    def __init__(self, rest: DiscordREST, click: dict[str, Any], *, user: str, answer_id: str) -> None:
        self.rest = rest
        self.click = click
        self.user = user
        self.answer_id = answer_id

    @staticmethod
    def where(target: str) -> str:
        """The channel as a mention (``<#…>``)."""
        return render.channel_mention(target)

    def tell(self, text: str) -> None:
        """A follow-up only the clicker sees."""
        self.rest.follow_up(self.click["application_id"], self.click["token"],
                            render.render(notice_reply(text), ephemeral=True))

    def post(self, target: str, question: str, asked_key: str | None) -> str | None:
        """To the hand-off channel with a jump link to the asking message, as
        one enforced nonce made from the answer id: a retried click gets
        Discord's first post back instead of posting twice."""
        body = handoff_post(self.user, question, origin_of(asked_key, self.click))
        try:
            posted = self.rest.send(target, body, nonce=f"handoff-{self.answer_id}"[:25])
        except discord.HTTPException as error:
            if is_transient(error):
                raise  # the workers try again; the claim stays this work's
            log.error("handing question %s off failed: Discord refused posting in DISCORD_HANDOFF_CHANNEL=%s "
                      "(%s %s); check the channel id and that the bot may view it and send messages there",
                      self.answer_id, target, error.status, error.text)
            raise HandOffRefused(messages.HANDOFF_FAILED) from error
        return str(posted.get("id") or "") or None


class HandOffs:
    """The worker side of the "Ask a person" button."""

    def __init__(self, store: Store, rest: DiscordREST, channel_id: str | None) -> None:
        self.store = store
        self.rest = rest
        self.channel_id = channel_id

    def run(self, work: Work, ref: AnswerRef) -> None:
        """Hand off the question of one click on "Ask a person"."""
        user = str(work.payload.get("user_id") or "")
        click = DiscordClick(self.rest, work.payload, user=user, answer_id=ref.answer_id)
        hand_off(self.store, click, ref, work, target=self.channel_id, setting="DISCORD_HANDOFF_CHANNEL", user=user)
