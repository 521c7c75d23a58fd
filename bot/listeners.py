"""What the bot does with each thing Slack sends it.

Every listener acknowledges at once (Slack allows 3 seconds) and does the
slow part (embedding, database, posting) in a lazy listener on the app's
bounded worker pool. Before answering, the lazy part *claims* the event in the
store, so a retried or twice-delivered event is answered exactly once; a
mention and the DM ``message`` event of the same message share one key.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot import blocks, messages
from bot.answering import Answerer
from bot.blocks import answer_reply, home_view, notice_reply, usage_reply
from bot.payloads import AnswerRef
from bot.slack_io import SlackReplyError, post_message, respond, update_message
from bot.store import Store, Vote
from bot.text import question_from
from faq_core.engine import FAQEngine

log = logging.getLogger(__name__)

# A person's new message: plain, with a file attached, or a thread reply also sent to the channel.
_PERSON_SUBTYPES = (None, "file_share", "thread_broadcast")


@dataclass
class Services:
    """What the listeners need: the engine, the reply builder and the store."""

    engine: FAQEngine
    answerer: Answerer
    store: Store
    names: Callable[[str], str | None] | None = None  # user id -> display name, for mentions of people


def ack_now(ack: Ack) -> None:
    """Acknowledge at once; the work happens in the lazy listener."""
    ack()


def _is_person_dm(event: dict[str, Any]) -> bool:
    """A new message a person wrote in a DM with the bot (no edits, deletions,
    bot messages, joins or other subtypes)."""
    return (event.get("channel_type") == "im" and event.get("subtype") in _PERSON_SUBTYPES
            and not event.get("bot_id") and not event.get("hidden"))


def _message_key(event: dict[str, Any]) -> str:
    return f"message:{event.get('channel')}:{event.get('ts')}"


def _thread_for_pick(channel: str, message: dict[str, Any]) -> str | None:
    """Where a chosen FAQ goes: the suggestion's thread (DMs: only if threaded)."""
    if message.get("thread_ts"):
        return str(message["thread_ts"])
    return None if channel.startswith("D") else message.get("ts")


class Handlers:
    """The listener bodies, bound to the bot's services."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def _once(self, key: str, kind: str, work: Callable[[], None]) -> None:
        """Run ``work`` unless another delivery of ``key`` already did; errors are logged."""
        store = self.services.store
        try:
            if not store.claim(key, kind):
                log.info("%s %s was already answered; skipping this delivery", kind, key)
                return
        except Exception:
            log.exception("the store could not claim %s; answering anyway", key)
        try:
            work()
        except Exception:
            log.exception("handling %s %s failed", kind, key)
            return
        try:
            store.finish(key)
        except Exception:
            log.exception("the store could not mark %s answered", key)

    # -- questions -------------------------------------------------------------------
    def mention(self, event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        """``@bot question`` in a channel: answer in the mention's thread."""
        def work() -> None:
            question = question_from(event.get("text"), context.bot_user_id, self.services.names)
            reply = self.services.answerer.reply(question, bot_user_id=context.bot_user_id)
            post_message(client, event["channel"], reply, thread_ts=event.get("thread_ts") or event["ts"])

        self._once(_message_key(event), "app_mention", work)

    def direct_message(self, event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        """A DM to the bot: answer in the DM (in its thread, if it was written in one)."""
        def work() -> None:
            question = question_from(event.get("text"), context.bot_user_id, self.services.names)
            reply = self.services.answerer.reply(question, bot_user_id=context.bot_user_id)
            post_message(client, event["channel"], reply, thread_ts=event.get("thread_ts"))

        self._once(_message_key(event), "message.im", work)

    def command_ack(self, ack: Ack, command: dict[str, Any], context: BoltContext) -> None:
        """``/faq``: acknowledge at once; an empty command gets the usage help right in the ack."""
        if question_from(command.get("text"), context.bot_user_id):
            ack()
        else:
            ack(response_type="ephemeral", **usage_reply(context.bot_user_id, self.services.engine.info).as_kwargs())

    def command(self, command: dict[str, Any], context: BoltContext) -> None:
        """``/faq question``: answer only to the asker, with a "Share in channel" button."""
        question = question_from(command.get("text"), context.bot_user_id, self.services.names)
        if not question:
            return

        def work() -> None:
            reply = self.services.answerer.reply(question, bot_user_id=context.bot_user_id, shareable=True)
            respond(command["response_url"], reply)

        self._once(f"command:{command.get('trigger_id')}", "slash_command", work)

    # -- buttons ---------------------------------------------------------------------
    def _clicked(self, body: dict[str, Any]) -> tuple[dict[str, Any], AnswerRef | None]:
        action = (body.get("actions") or [{}])[0]
        try:
            return action, AnswerRef.decode(action.get("value") or "")
        except ValueError as error:
            log.warning("ignoring a click with a value that is not ours: %s", error)
            return action, None

    def vote(self, body: dict[str, Any], client: WebClient) -> None:
        """"Helpful" / "Not helpful": record the vote, then show it was taken."""
        action, ref = self._clicked(body)
        if ref is None:
            return
        user = body.get("user", {}).get("id", "")
        container = body.get("container") or {}
        channel = container.get("channel_id") or body.get("channel", {}).get("id")
        vote = blocks.VOTES[action["action_id"]]

        def work() -> None:
            try:
                result = self.services.store.record_vote(Vote(
                    answer_id=ref.answer_id, user_id=user, query=ref.query, faq_id=ref.faq_id,
                    score=ref.score, channel_id=channel, vote=vote))
            except Exception:
                log.exception("recording a vote failed")
                notes: tuple[str, ...] = (messages.VOTE_FAILED,)
            else:
                thanks = (messages.VOTE_CHANGED.format(user=user, vote_label=messages.VOTE_LABELS[vote])
                          if result.changed else messages.VOTE_RECORDED[vote].format(user=user))
                notes = (thanks, messages.VOTE_TALLY.format(helpful=result.helpful, not_helpful=result.not_helpful))
            answer = ref.to_answer(self.services.engine.index)
            ephemeral = bool(container.get("is_ephemeral"))
            reply = (answer_reply(answer, ref, shareable=ephemeral, notes=notes) if answer is not None
                     else notice_reply(" ".join(notes)))
            if ephemeral or not container.get("message_ts"):
                respond(body["response_url"], reply, replace_original=True)
                return
            try:
                update_message(client, channel, container["message_ts"], reply)
            except SlackReplyError as error:
                # e.g. an answer shared through response_url in a channel the bot is not in
                log.info("%s; updating through response_url instead", error)
                respond(body["response_url"], reply, response_type="in_channel", replace_original=True)

        self._once(f"action:{body.get('trigger_id')}", "vote", work)

    def share(self, body: dict[str, Any]) -> None:
        """"Share in channel": post the ephemeral answer publicly, remove the private copy."""
        _action, ref = self._clicked(body)
        if ref is None:
            return
        user = body.get("user", {}).get("id", "")

        def work() -> None:
            answer = ref.to_answer(self.services.engine.index)
            if answer is None:
                respond(body["response_url"], notice_reply(messages.FAQ_GONE), replace_original=True)
                return
            shared = answer_reply(answer, ref.reissued(), shared_by=user)
            respond(body["response_url"], shared, response_type="in_channel")
            respond(body["response_url"], shared, delete_original=True)

        self._once(f"action:{body.get('trigger_id')}", "share", work)

    def pick(self, body: dict[str, Any], client: WebClient) -> None:
        """A "Did you mean…?" button: show that FAQ (never changing the original reply)."""
        _action, ref = self._clicked(body)
        if ref is None or ref.pick is None:
            return
        container = body.get("container") or {}

        def work() -> None:
            chosen = ref.chosen()
            answer = chosen.to_answer(self.services.engine.index)
            ephemeral = bool(container.get("is_ephemeral"))
            reply = (answer_reply(answer, chosen, shareable=ephemeral) if answer is not None
                     else notice_reply(messages.FAQ_GONE))
            channel = container.get("channel_id") or body.get("channel", {}).get("id", "")
            message = body.get("message") or {}
            if ephemeral or not message:
                respond(body["response_url"], reply, replace_original=True)
            else:
                post_message(client, channel, reply, thread_ts=_thread_for_pick(channel, message))

        self._once(f"action:{body.get('trigger_id')}", "pick", work)

    # -- App Home ----------------------------------------------------------------------
    def home(self, event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        """The Home tab: publish what the bot does and which index it serves."""
        if event.get("tab", "home") != "home":
            return
        try:
            client.views_publish(user_id=event["user"],
                                 view=home_view(self.services.engine.info, context.bot_user_id))
        except Exception:
            log.exception("publishing the App Home view failed")


def register(app: App, services: Services) -> Handlers:
    """Attach every listener to ``app``. Order matters: Bolt runs the first match."""
    handlers = Handlers(services)

    def app_mention(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        handlers.mention(event, client, context)

    def direct_message(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        handlers.direct_message(event, client, context)

    def faq_command(command: dict[str, Any], context: BoltContext) -> None:
        handlers.command(command, context)

    def vote(body: dict[str, Any], client: WebClient) -> None:
        handlers.vote(body, client)

    def share(body: dict[str, Any]) -> None:
        handlers.share(body)

    def pick(body: dict[str, Any], client: WebClient) -> None:
        handlers.pick(body, client)

    def app_home(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        handlers.home(event, client, context)

    def person_dm(event: dict[str, Any]) -> bool:
        return _is_person_dm(event)

    app.event("app_mention")(ack=ack_now, lazy=[app_mention])
    app.event("message", matchers=[person_dm])(ack=ack_now, lazy=[direct_message])
    app.event("app_home_opened")(ack=ack_now, lazy=[app_home])
    app.command("/faq")(ack=handlers.command_ack, lazy=[faq_command])
    app.action(re.compile(f"^({blocks.HELPFUL}|{blocks.NOT_HELPFUL})$"))(ack=ack_now, lazy=[vote])
    app.action(blocks.SHARE)(ack=ack_now, lazy=[share])
    app.action(re.compile(f"^{blocks.PICK_PREFIX}\\d+$"))(ack=ack_now, lazy=[pick])
    # Everything else Slack may send (edits, deletions, bot messages, other
    # events) is acknowledged and ignored: an unacknowledged event is retried.
    app.event(re.compile(".*"))(ack_now)
    return handlers
