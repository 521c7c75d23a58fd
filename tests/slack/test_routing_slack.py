"""Several FAQs on Slack, end to end: three teams' indexes routed to a
workspace default and two channels answer each in its place (a thread
follows its channel, a DM the workspace default); another workspace gets the
"no FAQ here" reply, never another team's FAQ; an admin changes a route from
the App Home and the next question follows it, without a restart; a
non-admin's forged route change is refused; a route set from another
process (the CLI) is followed too. Over HTTP with signed requests and over
Socket Mode, with the Slack stand-in."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot import messages
from bot.cli import main as cli
from bot.conversation.routing import Routing, start_routing
from bot.serving.holder import ServingEngine
from bot.serving.registry import EngineRegistry, index_loader
from bot.slack import blocks, routes_admin
from bot.slack.settings import SlackSettings
from bot.store.database import Store
from bot.store.routes import RouteTable, list_routes
from faq_core.engine import FAQEngine
from tests.faq_sources import TEAM_MARK, TEAM_QUESTION
from tests.slack.conftest import RunningBot, close_socket_bot, connect_socket_bot, start_bot, stop_bot
from tests.stubs.slack_api import BOT_USER_ID, TEAM_ID, Call, SlackAPIStub
from tests.stubs.slack_payloads import (
    USER,
    button_click,
    buttons,
    direct_message,
    elements,
    home_action,
    home_opened,
    mention,
    signed_action,
    signed_event,
    signed_form,
    slash_command,
    trigger_id,
)
from tests.stubs.socket_mode import SocketModeStub

ADMIN = "UADMIN001"
MENTION = f"<@{BOT_USER_ID}>"
C_IT, C_FIN, C_OTHER = "C0ITHELP1", "C0BILLING", "C0RANDOM1"


def routed(settings: SlackSettings, engine: FAQEngine, store: Store, *, ttl: float = 2.0) -> Routing:
    """Routing as the bot runs it: the store's routes, indexes loaded over the engine's embedder."""
    registry = EngineRegistry(index_loader(settings, engine.embedder), budget_bytes=10**9)
    return start_routing(settings, ServingEngine(engine), RouteTable(store, ttl=ttl), registry)


def route_teams(store: Store, teams: dict[str, Path]) -> None:
    table = RouteTable(store)
    table.set("slack", TEAM_ID, "", str(teams["hr"]))
    table.set("slack", TEAM_ID, C_IT, str(teams["it"]))
    table.set("slack", TEAM_ID, C_FIN, str(teams["finance"]))


def shown(call: Call) -> str:
    return json.dumps(call.params.get("blocks") or call.params.get("text"), ensure_ascii=False) + call.params["text"]


def ask(bot: RunningBot, api: SlackAPIStub, event: dict[str, Any]) -> str:
    """Send one event; what the bot posted back for it."""
    before = len(api.calls_to("chat.postMessage"))
    assert bot.send(signed_event(event)).status_code == 200
    post = api.wait_calls("chat.postMessage", count=before + 1)[before]
    assert post.ok, post.response
    return shown(post)


def in_team(event: dict[str, Any], team: str) -> dict[str, Any]:
    """``event`` sent from another workspace."""
    return {**event, "team_id": team, "event": {**event["event"], "team": team},
            "authorizations": [{**event["authorizations"][0], "team_id": team}]}


@pytest.fixture()
def routed_bot(settings: SlackSettings, engine: FAQEngine, store: Store,
               team_indexes: dict[str, Path]) -> Any:
    route_teams(store, team_indexes)
    running = start_bot(replace(settings, faq_admins=(ADMIN,)), engine, store,
                        routing=routed(settings, engine, store))
    yield running
    stop_bot(running)


def test_each_channel_is_answered_from_its_own_faq_over_http(routed_bot: RunningBot,
                                                             slack_api: SlackAPIStub) -> None:
    for team, channel in (("it", C_IT), ("finance", C_FIN), ("hr", C_OTHER)):
        reply = ask(routed_bot, slack_api, mention(f"{MENTION} {TEAM_QUESTION[team]}", channel=channel))
        assert TEAM_MARK[team] in reply, (team, reply)
        assert not [mark for other, mark in TEAM_MARK.items() if other != team and mark in reply]
    # a thread follows its channel, a DM the workspace default
    thread = ask(routed_bot, slack_api, mention(f"{MENTION} {TEAM_QUESTION['it']}", channel=C_IT,
                                                thread_ts="1690000000.000001"))
    assert TEAM_MARK["it"] in thread
    dm = ask(routed_bot, slack_api, direct_message(TEAM_QUESTION["hr"]))
    assert TEAM_MARK["hr"] in dm
    # a payload naming another workspace is still the token's own: its routes are looked up by the
    # workspace whose token answers (Bolt's authorization), never by ids a sender writes
    forged = ask(routed_bot, slack_api, in_team(mention(f"{MENTION} {TEAM_QUESTION['it']}", channel=C_IT),
                                                "T0OTHERWS"))
    assert TEAM_MARK["it"] in forged and messages.NO_FAQ_HERE not in forged


def open_home(bot: RunningBot, api: SlackAPIStub, user: str) -> dict[str, Any]:
    before = len(api.calls_to("views.publish"))
    bot.send(signed_event(home_opened(user=user)))
    publish = api.wait_calls("views.publish", count=before + 1)[before]
    assert publish.ok, publish.response
    return dict(publish.params["view"])


def route_submission(channel: str | None, index: str, *, user: str) -> dict[str, Any]:
    """The "Set an FAQ route" modal submitted (a conversations select and a text input)."""
    modal = routes_admin.route_modal()
    values: dict[str, Any] = {routes_admin.INDEX_BLOCK: {routes_admin.INDEX_BLOCK: {
        "type": "plain_text_input", "value": index}}}
    values[routes_admin.CHANNEL_BLOCK] = {routes_admin.CHANNEL_BLOCK: {
        "type": "conversations_select", "selected_conversation": channel}}
    return {"type": "view_submission", "team": {"id": TEAM_ID, "domain": "faq-test"},
            "user": {"id": user, "username": "someone", "team_id": TEAM_ID}, "api_app_id": "A0TESTAPP",
            "token": "legacy-verification-token", "trigger_id": trigger_id(),
            "view": {"id": f"VROUTE{trigger_id()}", "type": "modal", "callback_id": modal["callback_id"],
                     "blocks": modal["blocks"], "state": {"values": values}, "hash": trigger_id(),
                     "app_id": "A0TESTAPP"},
            "response_urls": []}


def test_an_admin_changes_a_route_in_the_app_home_and_the_next_question_follows_it(
        routed_bot: RunningBot, slack_api: SlackAPIStub, store: Store, team_indexes: dict[str, Path]) -> None:
    home = json.dumps(open_home(routed_bot, slack_api, ADMIN), ensure_ascii=False)
    assert "FAQ routes" in home and f"<#{C_IT}>" in home and str(team_indexes["hr"]) in home
    others = json.dumps(open_home(routed_bot, slack_api, USER), ensure_ascii=False)
    assert "FAQ routes" not in others and "faq_route" not in others

    # "Set a route…" opens the modal Slack accepts
    view = open_home(routed_bot, slack_api, ADMIN)
    controls = elements(view["blocks"])
    routed_bot.send(signed_action(home_action(controls[routes_admin.ROUTE_SET], view, user=ADMIN)))
    [opened] = slack_api.wait_calls("views.open")
    assert opened.ok, opened.response

    # a folder that is no index is shown beside the field; nothing changes
    bad = routed_bot.send(signed_action(route_submission(C_OTHER, "/no/such/folder", user=ADMIN)))
    assert bad.json()["response_action"] == "errors" and "no such folder" in bad.json()["errors"]["route_index"]
    # a non-admin's forged submission is refused
    routed_bot.send(signed_action(route_submission(C_OTHER, str(team_indexes["it"]), user=USER)))
    routed_bot.settle()
    assert ("slack", TEAM_ID, C_OTHER) not in {(r.platform, r.workspace, r.channel) for r in list_routes(store)}

    before = len(slack_api.calls_to("views.publish"))
    assert routed_bot.send(signed_action(route_submission(C_OTHER, str(team_indexes["finance"]),
                                                          user=ADMIN))).status_code == 200
    after = slack_api.wait_calls("views.publish", count=before + 1)[before]
    assert f"<#{C_OTHER}> is now answered from" in json.dumps(after.params["view"], ensure_ascii=False)
    reply = ask(routed_bot, slack_api, mention(f"{MENTION} {TEAM_QUESTION['finance']}", channel=C_OTHER))
    assert TEAM_MARK["finance"] in reply  # the next question, no restart

    # "Remove": the channel follows the workspace default again
    view = dict(after.params["view"])
    remove = elements(view["blocks"])[f"{routes_admin.ROUTE_UNSET}:{C_OTHER}"]
    before = len(slack_api.calls_to("views.publish"))
    routed_bot.send(signed_action(home_action(remove, view, user=ADMIN)))
    slack_api.wait_calls("views.publish", count=before + 1)
    reply = ask(routed_bot, slack_api, mention(f"{MENTION} {TEAM_QUESTION['hr']}", channel=C_OTHER))
    assert TEAM_MARK["hr"] in reply
    assert C_OTHER not in {r.channel for r in list_routes(store)}


def test_a_route_set_from_the_cli_is_followed_without_a_restart(
        settings: SlackSettings, engine: FAQEngine, store: Store, db_url: str, team_indexes: dict[str, Path],
        slack_api: SlackAPIStub, monkeypatch: pytest.MonkeyPatch) -> None:
    running = start_bot(settings, engine, store, routing=routed(settings, engine, store, ttl=0.0))
    try:
        first = ask(running, slack_api, mention(f"{MENTION} How can Medicare help me?", channel=C_IT))
        assert "Medicare" in first  # no routes at all: one FAQ, as before (the sample here)
        monkeypatch.setenv("DATABASE_URL", db_url)
        assert cli.main(["routes", "set", str(team_indexes["it"]), "--platform", "slack", "--workspace", TEAM_ID,
                         "--channel", C_IT]) == 0
        assert TEAM_MARK["it"] in ask(running, slack_api, mention(f"{MENTION} {TEAM_QUESTION['it']}", channel=C_IT))
        # routes exist now: a place without one gets no FAQ (FAQ_INDEX is not set), not the sample
        assert messages.NO_FAQ_HERE in ask(running, slack_api, mention(f"{MENTION} How can Medicare help me?",
                                                                       channel=C_OTHER))
    finally:
        stop_bot(running)


def test_routing_over_socket_mode(settings: SlackSettings, engine: FAQEngine, store: Store, slack_api: SlackAPIStub,
                                  socket_server: SocketModeStub, team_indexes: dict[str, Path]) -> None:
    route_teams(store, team_indexes)
    running = connect_socket_bot(replace(settings, faq_admins=(ADMIN,)), engine, store, slack_api, socket_server,
                                 routing=routed(settings, engine, store))
    try:
        for count, (team, channel) in enumerate((("it", C_IT), ("finance", C_FIN), ("hr", C_OTHER)), start=1):
            socket_server.wait_acks(socket_server.send(
                "events_api", mention(f"{MENTION} {TEAM_QUESTION[team]}", channel=channel)))
            post = slack_api.wait_calls("chat.postMessage", count=count)[count - 1]
            assert TEAM_MARK[team] in shown(post), team
        # an admin's route change over Socket Mode counts from the next question
        socket_server.wait_acks(socket_server.send("interactive", route_submission(None, str(team_indexes["it"]),
                                                                                   user=ADMIN)))
        slack_api.wait_calls("views.publish")
        running.settle()
        socket_server.wait_acks(socket_server.send(
            "events_api", mention(f"{MENTION} {TEAM_QUESTION['it']}", channel=C_OTHER)))
        post = slack_api.wait_calls("chat.postMessage", count=4)[3]
        assert TEAM_MARK["it"] in shown(post)
    finally:
        close_socket_bot(running)


def test_faq_and_share_in_a_routed_channel_use_that_channels_faq(routed_bot: RunningBot,
                                                                  slack_api: SlackAPIStub) -> None:
    routed_bot.send(signed_form(slash_command(TEAM_QUESTION["it"], slack_api.response_url("cmd"), channel=C_IT)))
    [reply] = slack_api.wait_calls("response_url")
    assert TEAM_MARK["it"] in shown_response(reply)
    share = buttons(reply.params["blocks"])[blocks.SHARE]
    routed_bot.send(signed_action(button_click(share, response_url=slack_api.response_url("share"), channel=C_IT,
                                               ephemeral=True)))
    calls = slack_api.wait_calls("response_url", count=3)
    [public] = [c for c in calls[1:] if "delete_original" not in c.params]
    assert public.params["response_type"] == "in_channel"
    assert TEAM_MARK["it"] in shown_response(public)  # the FAQ of the channel's index, not "no longer in the index"


def shown_response(call: Call) -> str:
    return json.dumps(call.params.get("blocks"), ensure_ascii=False) + str(call.params.get("text"))
