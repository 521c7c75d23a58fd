""""Ask a person" in Slack: pass an unanswered question to ``FAQ_HANDOFF``, once.

The flow is the core's (:func:`bot.features.handoff.hand_off`: one claim in
the store, a later click told where the question already went); Slack's part
is :class:`SlackClick`: the first click posts the question, with a link to
the message that asked it (``chat.getPermalink``), to the hand-off channel,
or, for a user group, in the question's own thread mentioning the group, and
the clicker is told through the click's ``response_url``. The post is tagged
with the hand-off's key, so a retried click finds an earlier post instead of
posting twice (:func:`bot.slack.web_api.post_reply`).
"""

from __future__ import annotations

import logging
from typing import Any

from bot import messages
from bot.conversation.payloads import AnswerRef
from bot.conversation.text import shorten
from bot.features.handoff import HandOffRefused, hand_off
from bot.slack.blocks import Reply, as_dicts, handoff_where, notice_reply, section
from bot.slack.services import Services
from bot.slack.text import escape
from bot.slack.web_api import SlackReplyError, post_reply, respond
from bot.store.intake import Work

log = logging.getLogger(__name__)

QUESTION_CHARS = 2500


def original_message(key: str | None, body: dict[str, Any]) -> tuple[str, str] | None:
    """(channel, ts) of the message that asked the question: from its intake
    key (``message:<channel>:<ts>``), else the thread the reply sits in; None
    for a ``/faq`` (no message to link to)."""
    if key and key.startswith("message:"):
        _, channel, ts = key.split(":", 2)
        if channel and ts:
            return channel, ts
    if key and key.startswith("command:"):
        return None
    container = body.get("container") or {}
    message = body.get("message") or {}
    where = container.get("channel_id") or (body.get("channel") or {}).get("id")
    at = message.get("thread_ts") or message.get("ts")
    return (str(where), str(at)) if where and at else None


class SlackClick:
    """One "Ask a person" click in Slack, as the core's hand-off flow uses it
    (:class:`bot.features.handoff.HandOffClick`)."""

    def __init__(self, services: Services, work: Work, body: dict[str, Any], *, user: str, answer_id: str) -> None:
        self.services = services
        self.work = work
        self.body = body
        self.user = user
        self.answer_id = answer_id

    @staticmethod
    def where(target: str) -> str:
        """A channel as ``<#C…>``, a user group as its mention."""
        where = handoff_where(target)
        return messages.HANDOFF_GROUP_WHERE.format(group=where) if target.startswith("S") else where

    def tell(self, text: str) -> None:
        """Through the click's ``response_url``, seen by the clicker only (a click without one: nobody)."""
        response_url = self.body.get("response_url")
        if response_url:
            respond(response_url, notice_reply(text))

    def _permalink(self, where: tuple[str, str] | None) -> str | None:
        if where is None:
            return None
        try:
            link = self.services.client.chat_getPermalink(channel=where[0], message_ts=where[1]).get("permalink")
        except Exception as error:  # the post still goes, without the link
            log.warning("chat.getPermalink for %s failed (%s); handing off without a link", where[0],
                        type(error).__name__)
            return None
        return link if isinstance(link, str) else None

    def post(self, target: str, question: str, asked_key: str | None) -> str | None:
        """To the hand-off channel with a link to the asking message; a user
        group is mentioned in the question's own thread (refused for a DM or
        ``/faq``, where the group could not see it)."""
        origin = original_message(asked_key, self.body)
        if target.startswith("S") and (origin is None or origin[0].startswith("D")):
            raise HandOffRefused(messages.HANDOFF_GROUP_NEEDS_CHANNEL.format(where=self.where(target)))
        link = self._permalink(origin)
        text = messages.HANDOFF_POST.format(mention=f"<!subteam^{target}> " if target.startswith("S") else "",
                                            user=self.user, question=escape(shorten(question, QUESTION_CHARS)))
        text += "\n" + (messages.HANDOFF_POST_LINK.format(permalink=link) if link else messages.HANDOFF_POST_NO_LINK)
        channel, thread_ts = origin if target.startswith("S") and origin is not None else (target, None)
        reply = Reply(text=text, blocks=as_dicts([section(text)]))
        try:
            # a retry looks through the channel's latest messages (or the thread) for its earlier post
            return post_reply(self.services.client, channel, reply, key=f"handoff:{self.answer_id}",
                              thread_ts=thread_ts, look_first=self.work.attempts > 1)
        except SlackReplyError as error:
            log.error("handing off %s failed: %s", self.answer_id, error)
            if error.transient:
                raise
            raise HandOffRefused(messages.HANDOFF_FAILED, failed=error) from error


class HandOffs:
    """The worker side of the "Ask a person" button."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def run(self, work: Work) -> None:
        """Hand off the question of one "Ask a person" click."""
        body = work.payload["body"]
        action = (body.get("actions") or [{}])[0]
        try:
            ref = AnswerRef.decode(action.get("value") or "")
        except ValueError as error:
            log.warning("ignoring an \"Ask a person\" click with a value that is not ours: %s", error)
            return
        user = (body.get("user") or {}).get("id") or ""
        click = SlackClick(self.services, work, body, user=user, answer_id=ref.answer_id)
        hand_off(self.services.store, click, ref, work, target=self.services.handoff_target, setting="FAQ_HANDOFF",
                 user=user)
