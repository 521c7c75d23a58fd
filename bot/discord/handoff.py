""""Ask a person" on Discord: pass an unanswered question to ``DISCORD_HANDOFF_CHANNEL``, once.

The click is claimed in the store like Slack's (:func:`bot.features.handoff.claim_handoff`,
one ``handoffs`` row per answer): the first click posts the question to the
hand-off channel with a jump link to the message that asked it, and the
clicker is told, privately, where it went; any later click is told it already
went there. The post carries an enforced nonce made from the answer id, so a
click worked again after a crash gets Discord's first post back instead of
posting twice. A channel Discord refuses (unknown, or the bot may not post
there) releases the claim, says so to the clicker and logs the setting to fix.
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
from bot.features.handoff import claim_handoff, mark_posted, question_of, release_handoff
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


class HandOffs:
    """The worker side of the "Ask a person" button."""

    def __init__(self, store: Store, rest: DiscordREST, channel_id: str | None) -> None:
        self.store = store
        self.rest = rest
        self.channel_id = channel_id

    def _tell(self, click: dict[str, Any], text: str) -> None:
        self.rest.follow_up(click["application_id"], click["token"],
                            render.render(notice_reply(text), ephemeral=True))

    def run(self, work: Work, ref: AnswerRef) -> None:
        """Hand off the question of one click on "Ask a person"."""
        click = work.payload
        if not self.channel_id:
            log.warning("an \"Ask a person\" click arrived but DISCORD_HANDOFF_CHANNEL is not set; ignoring it")
            return
        user = str(click.get("user_id") or "")
        claim = claim_handoff(self.store, answer_id=ref.answer_id, work_key=work.key, target=self.channel_id,
                              requested_by=user or None)
        where = render.channel_mention(claim.target)
        if not claim.mine:
            self._tell(click, messages.HANDOFF_ALREADY.format(where=where))
            return
        asked = question_of(self.store, ref.answer_id)
        question = " ".join((asked.text or ref.query).split())
        body = handoff_post(user, question, origin_of(asked.key, click))
        try:
            posted = self.rest.send(claim.target, body, nonce=f"handoff-{ref.answer_id}"[:25])
        except discord.HTTPException as error:
            if is_transient(error):
                raise  # the workers try again; the claim stays this work's
            log.error("handing question %s off failed: Discord refused posting in DISCORD_HANDOFF_CHANNEL=%s "
                      "(%s %s); check the channel id and that the bot may view it and send messages there",
                      ref.answer_id, claim.target, error.status, error.text)
            release_handoff(self.store, ref.answer_id, work.key)  # a later click may try again
            self._tell(click, messages.HANDOFF_FAILED)
            return
        mark_posted(self.store, ref.answer_id, str(posted.get("id") or "") or None)
        log.info("handed question %s off to channel %s", ref.answer_id, claim.target)
        self._tell(click, messages.HANDOFF_SENT.format(where=where))
