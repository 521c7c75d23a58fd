"""What the bot does with each thing Slack sends it.

Every listener's ``ack`` step records the event, command or click in the
durable intake (:mod:`bot.store.intake`) and only then acknowledges (Slack allows 3
seconds); the slow part (embedding, database, posting) runs later on the
workers (:mod:`bot.store.workers`), from the recorded payload alone, so it can be
finished by a restarted process or another replica. The intake's unique key
answers a retried or twice-delivered event once; a mention and the DM
``message`` event of the same message share one key.

When the store cannot record it, an event is not acknowledged (Slack
delivers it again later), a ``/faq`` gets an ephemeral "unavailable right
now", and a click fails visibly: never a reply that nothing recorded.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot import messages
from bot.conversation.answering import Asked
from bot.conversation.payloads import AnswerRef
from bot.conversation.routing import serving_for
from bot.features.recording import record_pick
from bot.features.voting import take_vote
from bot.slack import blocks
from bot.slack.blocks import answer_reply, home_view, notice_reply, usage_reply
from bot.slack.distribution import INSTALL_FIELD, arriving
from bot.slack.handoff import HandOffs
from bot.slack.review_actions import ReviewActions
from bot.slack.routes_admin import RouteActions
from bot.slack.services import Services
from bot.slack.tenant import request_tenant
from bot.slack.text import question_from
from bot.slack.web_api import SlackReplyError, post_reply, respond, update_message
from bot.store.intake import Work
from bot.tenancy import Tenant
from faq_core.index import FAQIndex

log = logging.getLogger(__name__)

PLATFORM = "slack"

# A person's new message: plain, with a file attached, or a thread reply also sent to the channel.
_PERSON_SUBTYPES = (None, "file_share", "thread_broadcast")


class StoreUnavailable(RuntimeError):
    """The intake could not record what Slack sent, so it must not be acknowledged."""


def ack_now(ack: Ack) -> None:
    """Acknowledge something the bot ignores."""
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


def _id(payload: dict[str, Any], name: str) -> str | None:
    """``payload[name]`` if it is a printable string, else None: a hostile
    payload may hold anything, and ids are stored and hashed."""
    value = payload.get(name)
    return value if isinstance(value, str) and value.isprintable() else None


def _asked(work: Work, payload: dict[str, Any], channel_kind: str, *, names: tuple[str, str]) -> Asked:
    """Who asked where, for the answer observers: the tenant the work was
    recorded for, and ``names``, the payload's channel and user fields."""
    channel, user = (_id(payload, name) for name in names)
    tenant = work.tenant
    return Asked(platform=PLATFORM, channel_kind=channel_kind, workspace=tenant.workspace if tenant else None,
                 enterprise=tenant.enterprise if tenant else None, channel_id=channel, user_id=user, key=work.key)


EVENT_IDS = ("channel", "user")
COMMAND_IDS = ("channel_id", "user_id")


class Handlers:
    """The listener bodies, bound to the bot's services."""

    def __init__(self, services: Services) -> None:
        self.services = services
        # more kinds of work (the review, the hand-off), registered by their modules
        self.more_kinds: dict[str, Callable[[Work], None]] = {}
        # App Home blocks for a user of a tenant after the public part (the admins' FAQ review)
        self.home_extra: Callable[[str, str | None, Tenant | None], list[Any]] | None = None
        # ... and the admins' FAQ routes of a workspace (user, team, notice), with routing
        self.home_routes: Callable[[str, str | None, str | None], list[Any]] | None = None
        self._own_team: str | None = None

    def accept(self, key: str, kind: str, payload: dict[str, Any], tenant: Tenant | None = None) -> None:
        """Record work for ``tenant`` (:func:`request_tenant`) in the intake
        (before the caller acknowledges it); a key seen before is a retry or a
        second delivery and is only acknowledged. Raises
        :class:`StoreUnavailable` when the store cannot record it. In
        distribution mode the installation it came through goes with it."""
        installation = arriving()
        if installation is not None:
            payload = {**payload, INSTALL_FIELD: installation.as_dict()}
        try:
            new = self.services.intake.add(key, kind, payload, tenant)
        except Exception as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise StoreUnavailable(f"could not record {kind} {key}: {reason}") from None
        if new:
            self.services.wake()
        else:
            log.info("%s %s was already received; acknowledging this delivery only", kind, key)

    def run(self, work: Work) -> None:
        """Do the work of one intake row (on a worker thread)."""
        handler = self._kinds.get(work.kind)
        if handler is None:
            log.error("no handler for %s %s; setting it aside", work.kind, work.key)
            return
        handler(work)

    @property
    def _kinds(self) -> dict[str, Callable[[Work], None]]:
        return {"app_mention": self.mention, "message.im": self.direct_message, "slash_command": self.command,
                "vote": self.vote, "share": self.share, "pick": self.pick, "app_home_opened": self.home,
                **self.more_kinds}

    # -- questions -------------------------------------------------------------------
    def mention(self, work: Work) -> None:
        """``@bot question`` in a channel: answer in the mention's thread."""
        event, bot_user_id = work.payload["event"], work.payload.get("bot_user_id")
        question = question_from(event.get("text"), bot_user_id, self.services.names)
        asked = _asked(work, event, "thread" if event.get("thread_ts") else "channel", names=EVENT_IDS)
        reply = blocks.render(self.services.answerer.reply(question, bot_user_id=bot_user_id, asked=asked))
        post_reply(self.services.client, event["channel"], reply, key=work.key,
                   thread_ts=event.get("thread_ts") or event["ts"], look_first=work.attempts > 1)

    def direct_message(self, work: Work) -> None:
        """A DM to the bot: answer in the DM (in its thread, if it was written in one)."""
        event, bot_user_id = work.payload["event"], work.payload.get("bot_user_id")
        question = question_from(event.get("text"), bot_user_id, self.services.names)
        asked = _asked(work, event, "dm", names=EVENT_IDS)
        reply = blocks.render(self.services.answerer.reply(question, bot_user_id=bot_user_id, asked=asked))
        post_reply(self.services.client, event["channel"], reply, key=work.key, thread_ts=event.get("thread_ts"),
                   oldest=event.get("ts"), look_first=work.attempts > 1)

    def command_ack(self, ack: Ack, command: dict[str, Any], context: BoltContext) -> None:
        """``/faq``: record it and acknowledge; an empty command gets the usage
        help right in the ack, and a store outage an honest "unavailable"."""
        if not question_from(command.get("text"), context.bot_user_id):
            ack(response_type="ephemeral", **usage_reply(context.bot_user_id, self.services.engine.info).as_kwargs())
            return
        try:
            self.accept(f"command:{command.get('trigger_id')}", "slash_command",
                        {"command": command, "bot_user_id": context.bot_user_id}, request_tenant(context))
        except StoreUnavailable as error:
            log.error("%s; told the asker to try again", error)
            ack(response_type="ephemeral", **notice_reply(messages.STORE_UNAVAILABLE).as_kwargs())
            return
        ack()

    def command(self, work: Work) -> None:
        """``/faq question``: answer only to the asker, with a "Share in channel" button."""
        command, bot_user_id = work.payload["command"], work.payload.get("bot_user_id")
        question = question_from(command.get("text"), bot_user_id, self.services.names)
        asked = _asked(work, command, "command", names=COMMAND_IDS)
        reply = blocks.render(self.services.answerer.reply(question, bot_user_id=bot_user_id, shareable=True,
                                                           asked=asked))
        respond(command["response_url"], reply)

    # -- buttons ---------------------------------------------------------------------
    def _index(self, body: dict[str, Any]) -> FAQIndex:
        """The index an answer's buttons name: the one routed where they were clicked."""
        container = body.get("container") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
        team = (body.get("team") or {}).get("id") if isinstance(body.get("team"), dict) else None
        channel = channel if isinstance(channel, str) else None
        kind = "dm" if channel and channel.startswith("D") else "channel"
        asked = Asked(platform=PLATFORM, channel_kind=kind, workspace=team if isinstance(team, str) else None,
                      channel_id=channel)
        return serving_for(self.services.answerer.routing, asked, self.services.engine).index

    def _clicked(self, body: dict[str, Any]) -> tuple[dict[str, Any], AnswerRef | None]:
        action = (body.get("actions") or [{}])[0]
        try:
            return action, AnswerRef.decode(action.get("value") or "")
        except ValueError as error:
            log.warning("ignoring a click with a value that is not ours: %s", error)
            return action, None

    def vote(self, work: Work) -> None:
        """"Helpful" / "Not helpful": record the vote, then show it was taken."""
        body, client = work.payload["body"], self.services.client
        action, ref = self._clicked(body)
        if ref is None:
            return
        user = body.get("user", {}).get("id", "")
        container = body.get("container") or {}
        channel = container.get("channel_id") or body.get("channel", {}).get("id")
        vote = blocks.VOTES[action["action_id"]]
        ephemeral = bool(container.get("is_ephemeral"))
        reply = blocks.render(take_vote(self.services.store, self._index(body), ref, user=user,
                                        channel_id=channel, vote=vote, platform=PLATFORM, shareable=ephemeral,
                                        metrics=self.services.metrics, tenant=work.tenant))
        if ephemeral or not container.get("message_ts"):
            respond(body["response_url"], reply, replace_original=True)
            return
        try:
            update_message(client, channel, container["message_ts"], reply)
        except SlackReplyError as error:
            # e.g. an answer shared through response_url in a channel the bot is not in
            log.info("%s; updating through response_url instead", error)
            respond(body["response_url"], reply, response_type="in_channel", replace_original=True)

    def share(self, work: Work) -> None:
        """"Share in channel": post the ephemeral answer publicly, remove the private copy."""
        body = work.payload["body"]
        _action, ref = self._clicked(body)
        if ref is None:
            return
        user = body.get("user", {}).get("id", "")
        answer = ref.to_answer(self._index(body))
        if answer is None:
            respond(body["response_url"], notice_reply(messages.FAQ_GONE), replace_original=True)
            return
        shared = answer_reply(answer, ref.reissued(), shared_by=user)
        respond(body["response_url"], shared, response_type="in_channel")
        respond(body["response_url"], shared, delete_original=True)

    def pick(self, work: Work) -> None:
        """A "Did you mean…?" button: show that FAQ (never changing the original reply)."""
        body = work.payload["body"]
        _action, ref = self._clicked(body)
        if ref is None or ref.pick is None:
            return
        container = body.get("container") or {}
        chosen = ref.chosen()
        try:  # the explicit label of what the question meant, for the review loop
            record_pick(self.services.store, key=work.key, answer_id=ref.answer_id, faq_id=ref.pick,
                        shown_answer_id=chosen.answer_id, tenant=work.tenant)
        except Exception:
            log.exception("recording a pick failed; showing the FAQ anyway")
        answer = chosen.to_answer(self._index(body))
        ephemeral = bool(container.get("is_ephemeral"))
        reply = (answer_reply(answer, chosen, shareable=ephemeral) if answer is not None
                 else notice_reply(messages.FAQ_GONE))
        channel = container.get("channel_id") or body.get("channel", {}).get("id", "")
        message = body.get("message") or {}
        if ephemeral or not message:
            respond(body["response_url"], reply, replace_original=True)
        else:
            thread_ts = _thread_for_pick(channel, message)
            post_reply(self.services.client, channel, reply, key=work.key, thread_ts=thread_ts,
                       oldest=message.get("ts"), look_first=work.attempts > 1)

    # -- App Home ----------------------------------------------------------------------
    def home(self, work: Work) -> None:
        """The Home tab: publish what the bot does and which index it serves."""
        event, bot_user_id = work.payload["event"], work.payload.get("bot_user_id")
        if event.get("tab", "home") != "home":
            return
        self.publish_home(event["user"], bot_user_id, None, work.tenant)

    def team(self) -> str | None:
        """The workspace of the bot's token (``auth.test``, asked once): whose routes a Home tab shows
        when the request's tenant is not known."""
        if self._own_team is None:
            try:
                self._own_team = str(self.services.client.auth_test().get("team_id") or "") or None
            except Exception as error:
                log.warning("could not ask Slack which workspace the bot is in: %s", error)
        return self._own_team

    def publish_home(self, user: str, bot_user_id: str | None, notice: str | None = None,
                     tenant: Tenant | None = None, *, routes_notice: str | None = None) -> None:
        """Publish ``user``'s Home tab in ``tenant`` (for admins: the served
        revision, that tenant's review and FAQ routes; ``notice`` tops the
        review: the outcome of their last review decision, ``routes_notice`` the routes)."""
        serving = self.services.engine
        revision = (serving.revision, serving.changed_at) if user in self.services.admins else None
        extra = self.home_extra(user, notice, tenant) if self.home_extra is not None else []
        if self.home_routes is not None and user in self.services.admins:
            team = tenant.workspace if tenant is not None else self.team()
            extra = [*self.home_routes(user, team, routes_notice), *extra]
        try:
            self.services.client.views_publish(user_id=user,
                                               view=home_view(serving.info, bot_user_id, extra, revision=revision))
        except Exception:
            log.exception("publishing the App Home view failed")


def register(app: App, services: Services) -> Handlers:
    """Attach every listener to ``app``. Order matters: Bolt runs the first match.
    Each ``ack`` step records the work in the intake before acknowledging."""
    handlers = Handlers(services)

    def app_mention(ack: Ack, event: dict[str, Any], context: BoltContext) -> None:
        handlers.accept(_message_key(event), "app_mention", {"event": event, "bot_user_id": context.bot_user_id},
                        request_tenant(context))
        ack()

    def direct_message(ack: Ack, event: dict[str, Any], context: BoltContext) -> None:
        handlers.accept(_message_key(event), "message.im", {"event": event, "bot_user_id": context.bot_user_id},
                        request_tenant(context))
        ack()

    def clicked(kind: str) -> Callable[[Ack, dict[str, Any], BoltContext], None]:
        def click(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
            handlers.accept(f"action:{body.get('trigger_id')}", kind, {"body": body}, request_tenant(context))
            ack()

        return click

    def app_home(ack: Ack, body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
        key = f"event:{body.get('event_id') or event.get('event_ts')}"
        handlers.accept(key, "app_home_opened", {"event": event, "bot_user_id": context.bot_user_id},
                        request_tenant(context))
        ack()

    def person_dm(event: dict[str, Any]) -> bool:
        return _is_person_dm(event)

    app.event("app_mention")(app_mention)
    app.event("message", matchers=[person_dm])(direct_message)
    app.event("app_home_opened")(app_home)
    app.command("/faq")(handlers.command_ack)
    app.action(re.compile(f"^({blocks.HELPFUL}|{blocks.NOT_HELPFUL})$"))(clicked("vote"))
    app.action(blocks.SHARE)(clicked("share"))
    app.action(re.compile(f"^{blocks.PICK_PREFIX}\\d+$"))(clicked("pick"))
    app.action(blocks.HANDOFF)(clicked("handoff"))
    handlers.more_kinds["handoff"] = HandOffs(services).run
    review = ReviewActions(services, record=handlers.accept, publish_home=handlers.publish_home)
    review.register(app)
    handlers.more_kinds.update(review.kinds)
    handlers.home_extra = review.home_blocks
    routing = services.answerer.routing
    if routing is not None:
        routes = RouteActions(routing, review, record=handlers.accept, publish_home=lambda user, bot, tenant, notice:
                              handlers.publish_home(user, bot, None, tenant, routes_notice=notice))
        routes.register(app)
        handlers.more_kinds.update(routes.kinds)
        handlers.home_routes = routes.home_blocks
    # Everything else Slack may send (edits, deletions, bot messages, other
    # events) is acknowledged and ignored: an unacknowledged event is retried.
    app.event(re.compile(".*"))(ack_now)

    @app.error
    def on_error(error: Exception) -> None:
        if isinstance(error, StoreUnavailable):
            log.error("%s; not acknowledged, so Slack will deliver it again", error)
        else:
            log.error("handling a Slack request failed: %s", type(error).__name__, exc_info=error)

    return handlers
