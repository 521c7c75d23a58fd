"""FAQ routes in the App Home, for admins only: which FAQ answers where in
this workspace, changed without a restart.

An admin's Home tab gets a "FAQ routes" section: the workspace default, each
channel's own route with a "Remove" button, and "Set a route…", which opens
a modal (a channel, empty for the workspace default, and the FAQ index). The
index is checked when the modal is submitted (an error shows beside the
field); the change itself is recorded in the intake and made by a worker,
which then publishes the admin's Home tab again, the outcome on top. As for
the review, every action is checked again when it arrives: a non-admin's
forged or replayed payload changes nothing. The workspace is the one of the
signed payload; the routes table is read through the bot's cache, emptied by
the write, so the next question already follows the new route.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ConversationFilter,
    ConversationSelectElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    PlainTextInputElement,
)
from slack_sdk.models.views import View

from bot import messages
from bot.conversation.routing import Routing
from bot.serving.refs import MAX_REF_CHARS, check_ref
from bot.slack.blocks import button, context, section
from bot.slack.review_actions import ReviewActions
from bot.slack.tenant import request_tenant
from bot.slack.text import escape
from bot.store.intake import Work
from bot.store.routes import WORKSPACE_DEFAULT
from bot.tenancy import Tenant
from faq_core.errors import FAQBotError

log = logging.getLogger(__name__)

PLATFORM = "slack"
ROUTE_SET, ROUTE_UNSET = "faq_route_set", "faq_route_unset"  # action ids (unset: ":<channel>", "" the default)
ROUTE_MODAL = "faq_route_modal"
CHANNEL_BLOCK, INDEX_BLOCK = "route_channel", "route_index"
SET_KIND, UNSET_KIND = "route_set", "route_unset"
HOME_ROUTES = 40  # channel routes listed (2 blocks each): the Home view stays under Slack's 100 blocks


def _team(body: dict[str, Any]) -> str:
    team = body.get("team")
    value = team.get("id") if isinstance(team, dict) else None
    if not value:
        user = body.get("user")
        value = user.get("team_id") if isinstance(user, dict) else None
    return value if isinstance(value, str) and value.isprintable() else ""


def _where(channel: str) -> str:
    return messages.ROUTE_WHERE_CHANNEL.format(channel=channel) if channel else messages.ROUTE_WHERE_DEFAULT


def routes_section(routing: Routing, team: str, notice: str | None = None) -> list[Block]:
    """The "FAQ routes" part of an admin's Home tab for workspace ``team``."""
    routes = routing.table.of_workspace(PLATFORM, team) if team else []
    fallback = routing.table.fallback
    about = messages.ROUTES_ABOUT.format(fallback=messages.ROUTES_FALLBACK.format(index=escape(fallback))
                                         if fallback else messages.ROUTES_NO_FALLBACK)
    blocks: list[Block] = [DividerBlock(), HeaderBlock(text=messages.ROUTES_TITLE)]
    if notice:
        blocks.append(section(notice))
    blocks.append(context(about))
    default = next((r for r in routes if r.is_default), None)
    if default is not None:
        blocks.append(section(messages.ROUTES_DEFAULT.format(index=escape(default.index_ref))))
        blocks.append(ActionsBlock(elements=[button(messages.BUTTON_ROUTE_UNSET, f"{ROUTE_UNSET}:", "")]))
    else:
        blocks.append(section(messages.ROUTES_NO_DEFAULT))
    for route in [r for r in routes if not r.is_default][:HOME_ROUTES]:
        blocks.append(section(messages.ROUTES_CHANNEL.format(channel=route.channel, index=escape(route.index_ref))))
        blocks.append(ActionsBlock(elements=[button(messages.BUTTON_ROUTE_UNSET, f"{ROUTE_UNSET}:{route.channel}",
                                                    route.channel)]))
    blocks.append(ActionsBlock(elements=[button(messages.BUTTON_ROUTE_SET, ROUTE_SET, "", "primary")]))
    return blocks


def route_modal() -> dict[str, Any]:
    """The "Set an FAQ route" modal: a channel (optional) and the index."""
    blocks: list[Block] = [
        InputBlock(block_id=CHANNEL_BLOCK, label=messages.ROUTE_MODAL_CHANNEL, optional=True,
                   element=ConversationSelectElement(
                       action_id=CHANNEL_BLOCK, filter=ConversationFilter(include=["public", "private"],
                                                                          exclude_bot_users=True))),
        InputBlock(block_id=INDEX_BLOCK, label=messages.ROUTE_MODAL_INDEX,
                   element=PlainTextInputElement(action_id=INDEX_BLOCK, max_length=MAX_REF_CHARS)),
    ]
    return View(type="modal", callback_id=ROUTE_MODAL, title=messages.ROUTE_MODAL_TITLE,
                submit=messages.ROUTE_MODAL_SUBMIT, close=messages.ROUTE_MODAL_CLOSE, blocks=blocks).to_dict()


def submitted(view: dict[str, Any]) -> tuple[str, str]:
    """(channel, index) as submitted: channel ``''`` for the workspace default."""
    values = ((view.get("state") or {}).get("values") or {}) if isinstance(view, dict) else {}
    channel_field = (values.get(CHANNEL_BLOCK) or {}).get(CHANNEL_BLOCK) or {}
    index_field = (values.get(INDEX_BLOCK) or {}).get(INDEX_BLOCK) or {}
    channel = channel_field.get("selected_conversation") if isinstance(channel_field, dict) else None
    index = index_field.get("value") if isinstance(index_field, dict) else None
    return (channel if isinstance(channel, str) and channel.isprintable() else WORKSPACE_DEFAULT,
            index.strip() if isinstance(index, str) else "")


class RouteActions:
    """The routes' listeners (ack steps), work (on the workers) and Home section."""

    def __init__(self, routing: Routing, review: ReviewActions, *,
                 record: Callable[[str, str, dict[str, Any], Tenant | None], None],
                 publish_home: Callable[[str, str | None, Tenant | None, str], None]) -> None:
        """``publish_home(user, bot_user_id, tenant, notice)`` publishes an admin's Home tab in
        ``tenant``, ``notice`` on top of the routes section."""
        self.routing = routing
        self.review = review  # who is an admin, and the refusal of anyone else, are the review's
        self.services = review.services
        self.record = record
        self.publish_home = publish_home

    @property
    def kinds(self) -> dict[str, Callable[[Work], None]]:
        return {SET_KIND: self.change, UNSET_KIND: self.change}

    def home_blocks(self, user: str, team: str | None, notice: str | None = None) -> list[Block]:
        """The routes section of ``user``'s Home tab: nothing unless an admin."""
        if not self.review.is_admin(user) or not team:
            return []
        try:
            return routes_section(self.routing, team, notice)
        except Exception:
            log.exception("reading the routes for the App Home failed")
            return []

    def register(self, app: App) -> None:
        """Attach the listeners to ``app``."""
        app.action(ROUTE_SET)(self.open_ack)
        app.action(re.compile(f"^{ROUTE_UNSET}:"))(self.unset_ack)
        app.view(ROUTE_MODAL)(self.submit_ack)

    def open_ack(self, ack: Ack, body: dict[str, Any]) -> None:
        """"Set a route…": open the modal now (a ``trigger_id`` lasts 3 seconds)."""
        ack()
        if self.review.refused("opening the FAQ route modal", body):
            return
        try:
            self.services.client.views_open(trigger_id=body.get("trigger_id"), view=route_modal())
        except Exception as error:
            log.error("opening the FAQ route modal failed: %s", error)

    def unset_ack(self, ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        """"Remove": an admin's click is recorded as work."""
        if not self.review.refused("removing an FAQ route", body):
            action = (body.get("actions") or [{}])[0]
            channel = str(action.get("action_id") or "").partition(":")[2]
            self.record(f"action:{body.get('trigger_id')}", UNSET_KIND,
                        {"user": body.get("user"), "team": _team(body), "channel": channel,
                         "bot_user_id": context.bot_user_id}, request_tenant(context))
        ack()

    def submit_ack(self, ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
        """The modal's "Save": check the index (an error shows beside it), then record the change."""
        if self.review.refused("an FAQ route submission", body):
            ack()
            return
        channel, index = submitted(view)
        try:
            ref = check_ref(index)
        except FAQBotError as error:
            ack(response_action="errors", errors={INDEX_BLOCK: str(error)[:150]})
            return
        self.record(f"view:{view.get('id')}:{view.get('hash')}", SET_KIND,
                    {"user": body.get("user"), "team": _team(body), "channel": channel, "index": ref,
                     "bot_user_id": context.bot_user_id}, request_tenant(context))
        ack()

    def change(self, work: Work) -> None:
        """Set or remove one route, then show the outcome on the admin's Home tab."""
        payload = work.payload
        body = {"user": payload.get("user")}
        if self.review.refused(work.kind, body):  # FAQ_ADMINS may have changed since
            return
        user = str((payload.get("user") or {}).get("id") or "")
        # the workspace whose token the signed request came through; never a team id the sender wrote
        team = work.tenant.workspace if work.tenant is not None else str(payload.get("team") or "")
        channel = str(payload.get("channel") or "")
        try:
            if work.kind == SET_KIND:
                index = check_ref(str(payload.get("index") or ""))
                self.routing.table.set(PLATFORM, team, channel, index, by=f"slack:{user}"[:64])
                notice = messages.ROUTE_SET.format(where=_where(channel), index=escape(index))
            elif self.routing.table.unset(PLATFORM, team, channel):
                notice = messages.ROUTE_UNSET.format(where=_where(channel))
            else:
                notice = messages.ROUTE_NONE.format(where=_where(channel))
        except (FAQBotError, ValueError) as error:
            notice = messages.ROUTE_REFUSED.format(reason=escape(str(error)))
        log.info("routes: %s %s %s in workspace %s", user, work.kind, channel or "(default)", team)
        self.publish_home(user, payload.get("bot_user_id"), work.tenant, notice)

