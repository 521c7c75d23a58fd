"""What the workers do with each thing Discord sent, from its intake row alone.

The client (:mod:`bot.discord.client`) records every question, command and
click in the durable intake before acknowledging it; a worker thread then
answers it here, so a restarted process or another replica can finish it.
Replies to messages carry the question's id as an enforced ``nonce``: a
worker that crashed after posting and is retried gets Discord's first
message back instead of posting twice. Interaction replies edit the
interaction's own response, which is idempotent by nature.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import discord

from bot import messages
from bot.conversation.answering import Answerer, Asked
from bot.conversation.payloads import AnswerRef, new_answer_id
from bot.conversation.replies import Kind, ReplyContent, answer_reply, notice_reply
from bot.discord import render
from bot.discord.handoff import HandOffs
from bot.discord.rest import UNKNOWN_MESSAGE, DiscordREST, is_gone
from bot.discord.suggest import SUGGESTIONS, is_pick
from bot.discord.text import as_id, question_from
from bot.features.recording import record_pick
from bot.features.voting import take_vote
from bot.ops.metrics import Metrics
from bot.serving.holder import ServingEngine
from bot.store.database import Store
from bot.store.intake import Work
from bot.tenancy import Tenant
from faq_core.engine import FAQEngine

log = logging.getLogger(__name__)

PLATFORM = "discord"
MESSAGE, COMMAND, BUTTON, FORUM = "discord.message", "discord.command", "discord.button", "discord.forum"
# A forum post's starter message can 404 when fetched right after THREAD_CREATE:
# a few quick tries here, then the intake's own retries (seconds to minutes).
STARTER_RETRY_SECONDS = (0.25, 0.5, 1.0)
ANSWERING_KINDS = (Kind.ANSWER, Kind.AMBIGUOUS)  # what a forum post gets: a forum is already asking people



def _guild(work: Work) -> str | None:
    """The guild the Gateway delivered ``work`` from (a DM: None), as recorded with the work."""
    return work.tenant.workspace if work.tenant is not None else None

class StarterNotReady(Exception):
    """A forum post's starter message is not there yet (404 Unknown Message): try again later."""


@dataclass
class Services:
    """What the handlers need: the served engine (swapped by a reload, with
    its suggestions), the answerer, the store, REST calls."""

    engine: ServingEngine
    answerer: Answerer
    store: Store
    rest: DiscordREST
    handoff_channel: str | None = None  # DISCORD_HANDOFF_CHANNEL: where "Ask a person" posts
    metrics: Metrics | None = None  # votes are counted here


class Handlers:
    """The worker-side bodies of the Discord listeners."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.handoffs = HandOffs(services.store, services.rest, services.handoff_channel)

    def run(self, work: Work) -> None:
        """Do the work of one intake row (on a worker thread)."""
        handler: Callable[[Work], None] | None = {MESSAGE: self.message, COMMAND: self.command,
                                                  BUTTON: self.button, FORUM: self.forum_post}.get(work.kind)
        if handler is None:
            log.error("no handler for %s %s; setting it aside", work.kind, work.key)
            return
        try:
            handler(work)
        except Exception as error:
            if is_gone(error):  # an expired interaction: nobody can be answered any more
                log.warning("%s %s could not be answered: %s", work.kind, work.key, error)
                return
            raise

    def _render(self, content: ReplyContent, tenant: Tenant | None, *, ephemeral: bool = False) -> dict[str, Any]:
        """The message body, after keeping what its buttons stand for (for ``tenant``'s clicks only)."""
        values = render.button_values(content)
        if values:
            self.services.store.keep_ref(content.answer_id, json.dumps(values, separators=(",", ":")), tenant)
        return render.render(content, ephemeral=ephemeral)

    # -- questions -------------------------------------------------------------------
    def message(self, work: Work) -> None:
        """A mention in a channel or a DM: answer in a reply to it."""
        p = work.payload
        asked = Asked(platform=PLATFORM, channel_kind="dm" if p.get("dm") else "channel",
                      workspace=_guild(work), channel_id=p["channel_id"], user_id=p.get("author_id"),
                      key=work.key)
        reply = self.services.answerer.reply(p.get("question", ""), bot_user_id=p.get("bot_user_id"), asked=asked)
        self.services.rest.send(p["channel_id"], self._render(reply, work.tenant), reply_to=p["message_id"],
                                nonce=p["message_id"][-25:])

    def _starter(self, thread_id: str) -> dict[str, Any]:
        """A forum post's starter message; :class:`StarterNotReady` while Discord says it is unknown."""
        for delay in (*STARTER_RETRY_SECONDS, None):
            try:
                return self.services.rest.get_message(thread_id, thread_id)
            except discord.NotFound as error:
                if error.code != UNKNOWN_MESSAGE:
                    raise
                if delay is None:
                    raise StarterNotReady(f"the starter message of forum post {thread_id} is not there yet") from None
                time.sleep(delay)
        raise AssertionError("unreachable")

    def forum_post(self, work: Work) -> None:
        """A new post in a configured forum: answer its starter message in the
        post's thread, only when there is a good answer (an "I don't know" or
        usage help would be noise where people are already asked)."""
        p = work.payload
        thread_id = p["thread_id"]
        starter = self._starter(thread_id)
        author = starter.get("author") or {}
        if author.get("bot"):
            return
        names = {str(u.get("id")): str(u.get("global_name") or u.get("username") or "")
                 for u in starter.get("mentions") or []}
        body = question_from(str(starter.get("content") or ""), p.get("bot_user_id"), names)
        title = question_from(str(p.get("title") or ""), p.get("bot_user_id"))
        question = "\n".join(part for part in (title, body) if part)
        if not question:
            return
        asked = Asked(platform=PLATFORM, channel_kind="forum", workspace=_guild(work), channel_id=thread_id,
                      user_id=as_id(author.get("id")), key=work.key)
        reply = self.services.answerer.reply(question, bot_user_id=p.get("bot_user_id"), asked=asked)
        if reply.kind not in ANSWERING_KINDS:
            log.info("forum post %s: no good answer (%s); staying quiet", thread_id, reply.kind)
            return
        self.services.rest.send(thread_id, self._render(reply, work.tenant), reply_to=thread_id,
                                nonce=thread_id[-25:])

    def command(self, work: Work) -> None:
        """``/faq question``: the deferred, ephemeral response becomes the answer."""
        p = work.payload
        asked = Asked(platform=PLATFORM, channel_kind="command", workspace=_guild(work),
                      channel_id=p.get("channel_id"), user_id=p.get("user_id"), key=work.key)
        question = p.get("question", "")
        served = self.services.engine.snapshot()  # the suggestions and the engine of one revision
        faq_id = served.companion(SUGGESTIONS).faq_id_of(question)
        if faq_id is not None:
            reply = self._picked(served.engine, faq_id, shareable=True)
        elif is_pick(question):  # picked from the suggestions of a revision no longer served
            reply = notice_reply(messages.FAQ_GONE)
        else:
            reply = self.services.answerer.reply(question, bot_user_id=p.get("bot_user_id"), shareable=True,
                                                 asked=asked)
        self.services.rest.edit_original(p["application_id"], p["token"],
                                         self._render(reply, work.tenant, ephemeral=True))

    @staticmethod
    def _picked(engine: FAQEngine, faq_id: str, *, shareable: bool) -> ReplyContent:
        """An FAQ picked from the autocomplete suggestions: shown as chosen."""
        faq = engine.index.faq_by_id(faq_id)
        assert faq is not None
        ref = AnswerRef(answer_id=new_answer_id(), query=faq.question, matches=((faq_id, 1.0),), answered=False,
                        threshold=engine.threshold, picked=True)
        answer = ref.to_answer(engine.index)
        assert answer is not None
        return answer_reply(answer, ref, shareable=shareable)

    # -- buttons ---------------------------------------------------------------------
    def button(self, work: Work) -> None:
        """A click on Helpful / Not helpful, Share in channel, a suggestion, or Ask a person."""
        p = work.payload
        parsed = render.parse_custom_id(p.get("custom_id", ""))
        if parsed is None:
            return
        action, answer_id, index = parsed
        kept = self.services.store.ref(answer_id, work.tenant)  # another guild's answer id finds nothing
        value = json.loads(kept).get(render.slot(action, index)) if kept else None
        if value is None:
            self._gone(p)
            return
        ref = AnswerRef.decode(value)
        if action in render.VOTES:
            self.vote(p, ref, render.VOTES[action], work.tenant)
        elif action == render.SHARE:
            self.share(p, ref, work.tenant)
        elif action == render.HANDOFF:
            self.handoffs.run(work, ref)
        else:
            self.pick(p, ref, work.key, work.tenant)

    def _gone(self, p: dict[str, Any]) -> None:
        body = render.render(notice_reply(messages.FAQ_GONE), ephemeral=True)
        self.services.rest.follow_up(p["application_id"], p["token"], body)

    def vote(self, p: dict[str, Any], ref: AnswerRef, vote: str, tenant: Tenant | None) -> None:
        """Record the vote (one per person per answer), then update the message."""
        ephemeral = bool(p.get("ephemeral"))
        reply = take_vote(self.services.store, self.services.engine.index, ref, user=p.get("user_id", ""),
                          channel_id=p.get("channel_id"), vote=vote, platform=PLATFORM, shareable=ephemeral,
                          metrics=self.services.metrics, tenant=tenant)
        self.services.rest.edit_original(p["application_id"], p["token"],
                                         self._render(reply, tenant, ephemeral=ephemeral))

    def share(self, p: dict[str, Any], ref: AnswerRef, tenant: Tenant | None) -> None:
        """Post the ephemeral answer in the channel, then remove the private copy."""
        answer = ref.to_answer(self.services.engine.index)
        if answer is None:
            self._gone(p)
            return
        shared = answer_reply(answer, ref.reissued(), shared_by=p.get("user_id"))
        self.services.rest.follow_up(p["application_id"], p["token"], self._render(shared, tenant))
        self.services.rest.delete_original(p["application_id"], p["token"])

    def pick(self, p: dict[str, Any], ref: AnswerRef, key: str, tenant: Tenant | None) -> None:
        """A "Did you mean…?" button: show that FAQ (the original reply stays)."""
        if ref.pick is None:
            return
        chosen = ref.chosen()
        try:  # the explicit label of what the question meant, for the review loop
            record_pick(self.services.store, key=key, answer_id=ref.answer_id, faq_id=ref.pick,
                        shown_answer_id=chosen.answer_id, tenant=tenant)
        except Exception:
            log.exception("recording a pick failed; showing the FAQ anyway")
        answer = chosen.to_answer(self.services.engine.index)
        ephemeral = bool(p.get("ephemeral"))
        if answer is None:
            self._gone(p)
            return
        reply = answer_reply(answer, chosen, shareable=ephemeral)
        self.services.rest.follow_up(p["application_id"], p["token"],
                                     self._render(reply, tenant, ephemeral=ephemeral))
