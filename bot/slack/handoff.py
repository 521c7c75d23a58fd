""""Ask a person" in Slack: pass an unanswered question to ``FAQ_HANDOFF``, once.

The click is claimed in the store (:func:`bot.features.handoff.claim_handoff`): the
first click posts the question, with a link to the message that asked it
(``chat.getPermalink``), to the hand-off channel, or, for a user group, in
the question's own thread mentioning the group. The asker is told where it
went; a later click is told it already went there. The post is tagged with
the hand-off's key, so a retried click finds an earlier post instead of
posting twice (:func:`bot.slack.web_api.post_reply`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot import messages
from bot.conversation.payloads import AnswerRef
from bot.conversation.text import shorten
from bot.features.handoff import claim_handoff, mark_posted, question_of, release_handoff
from bot.slack.blocks import Reply, as_dicts, handoff_where, notice_reply, section
from bot.slack.text import escape
from bot.slack.web_api import SlackReplyError, post_reply, respond
from bot.store.intake import Work

if TYPE_CHECKING:
    from bot.slack.listeners import Services

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


class HandOffs:
    """The worker side of the "Ask a person" button."""

    def __init__(self, services: Services) -> None:
        self.services = services

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

    def run(self, work: Work) -> None:
        """Hand off the question of one "Ask a person" click."""
        body = work.payload["body"]
        action = (body.get("actions") or [{}])[0]
        try:
            ref = AnswerRef.decode(action.get("value") or "")
        except ValueError as error:
            log.warning("ignoring an \"Ask a person\" click with a value that is not ours: %s", error)
            return
        target = self.services.handoff_target
        response_url = body.get("response_url")
        if not target:
            log.warning("an \"Ask a person\" click arrived but FAQ_HANDOFF is not set; ignoring it")
            return
        user = (body.get("user") or {}).get("id") or ""
        claim = claim_handoff(self.services.store, answer_id=ref.answer_id, work_key=work.key, target=target,
                              requested_by=user or None)
        where = self._where(claim.target)
        if not claim.mine:
            if response_url:
                respond(response_url, notice_reply(messages.HANDOFF_ALREADY.format(where=where)))
            return
        asked = question_of(self.services.store, ref.answer_id)
        origin = original_message(asked.key, body)
        link = self._permalink(origin)
        question = escape(shorten(" ".join((asked.text or ref.query).split()), QUESTION_CHARS))
        text = messages.HANDOFF_POST.format(
            mention=f"<!subteam^{claim.target}> " if claim.target.startswith("S") else "", user=user,
            question=question)
        text += "\n" + (messages.HANDOFF_POST_LINK.format(permalink=link) if link else messages.HANDOFF_POST_NO_LINK)
        if claim.target.startswith("S"):  # a user group: mention it where the question was asked
            if origin is None or origin[0].startswith("D"):  # a DM or /faq: nowhere the group could see it
                release_handoff(self.services.store, ref.answer_id, work.key)
                if response_url:
                    respond(response_url, notice_reply(messages.HANDOFF_GROUP_NEEDS_CHANNEL.format(where=where)))
                return
            channel, thread_ts = origin
        else:
            channel, thread_ts = claim.target, None
        reply = Reply(text=text, blocks=as_dicts([section(text)]))
        try:
            # a retry looks through the channel's latest messages (or the thread) for its earlier post
            ts = post_reply(self.services.client, channel, reply, key=f"handoff:{ref.answer_id}",
                            thread_ts=thread_ts, look_first=work.attempts > 1)
        except SlackReplyError as error:
            log.error("handing off %s failed: %s", ref.answer_id, error)
            if not error.transient:  # let a later click try again
                release_handoff(self.services.store, ref.answer_id, work.key)
                if response_url:
                    respond(response_url, notice_reply(messages.HANDOFF_FAILED))
            raise
        mark_posted(self.services.store, ref.answer_id, ts)
        log.info("handed question %s off to %s", ref.answer_id, claim.target)
        if response_url:
            respond(response_url, notice_reply(messages.HANDOFF_SENT.format(where=where)))

    @staticmethod
    def _where(target: str) -> str:
        where = handoff_where(target)
        return messages.HANDOFF_GROUP_WHERE.format(group=where) if target.startswith("S") else where
