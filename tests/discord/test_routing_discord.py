"""Several FAQs on Discord, end to end with the real discord.py client and
the stand-in: three teams' indexes routed to the server default, a channel
and a forum (whose posts, threads, follow it) answer each in its place;
``/faq-route`` from a member who can manage the server changes a route and
the next question follows it (no restart), from anyone else it is refused;
``/faq`` answers from the channel's FAQ, and a DM (no server) gets the
polite "no FAQ here" once routes exist."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import messages
from bot.conversation.routing import Routing, start_routing
from bot.discord.routes_command import COMMAND_NAME
from bot.discord.settings import DiscordSettings
from bot.serving.holder import ServingEngine
from bot.serving.registry import EngineRegistry, index_loader
from bot.store.database import Store
from bot.store.routes import RouteTable, list_routes
from faq_core.engine import FAQEngine
from tests.discord.conftest import CALLBACK, MESSAGES, ORIGINAL, RunningBot, start_bot
from tests.faq_sources import TEAM_MARK, TEAM_QUESTION
from tests.stubs import discord_payloads as P
from tests.stubs.discord_api import DiscordCall
from tests.stubs.discord_standin import DiscordStandIn

IT_CHANNEL = "1000000000000000201"  # a second text channel of the server


def shown(call: DiscordCall) -> str:
    return json.dumps({k: call.body.get(k) for k in ("content", "embeds")}, ensure_ascii=False)


def mention_in(channel: str, text: str) -> dict[str, Any]:
    return P.message(f"<@{P.BOT_USER_ID}> {text}", channel_id=channel,
                     mentions=[{**P.bot_user(), "member": P.member(P.bot_user())}])


def asked(standin: DiscordStandIn, payload: dict[str, Any]) -> str:
    before = len(standin.api.calls_to("POST", MESSAGES))
    standin.message(payload)
    post = standin.api.wait_calls("POST", MESSAGES, count=before + 1)[before]
    assert post.status == 200, post.response
    return shown(post)


def route_command(options: list[dict[str, Any]], *, manager: bool = True) -> dict[str, Any]:
    """``/faq-route`` with ``options`` (typed as Discord types them), from a member who can manage the server or not."""
    payload = P.slash_command(COMMAND_NAME, {})
    payload["data"]["options"] = options
    if not manager:
        payload["member"] = {**payload["member"], "permissions": "0"}
    return payload


def run_command(standin: DiscordStandIn, payload: dict[str, Any]) -> str:
    before = len(standin.api.calls_to("POST", CALLBACK))
    standin.interaction(payload)
    callback = standin.api.wait_calls("POST", CALLBACK, count=before + 1)[before]
    assert callback.status == 200 and callback.body["type"] == 4, callback.body
    assert callback.body["data"]["flags"] & P.EPHEMERAL
    return str(callback.body["data"]["content"])


@pytest.fixture()
def routed_bot(settings: DiscordSettings, standin: DiscordStandIn, engine: FAQEngine, store: Store,
               team_indexes: dict[str, Path]) -> Iterator[tuple[RunningBot, Routing]]:
    standin.gateway.privileged_allowed = P.MESSAGE_CONTENT_INTENT  # the forum auto-answer asks for it
    standin.api.channels.add(IT_CHANNEL)
    settings = dataclasses.replace(settings, discord_forum_channel_ids=(int(P.FORUM_CHANNEL_ID),))
    table = RouteTable(store)
    table.set("discord", P.GUILD_ID, "", str(team_indexes["hr"]))
    table.set("discord", P.GUILD_ID, IT_CHANNEL, str(team_indexes["it"]))
    table.set("discord", P.GUILD_ID, P.FORUM_CHANNEL_ID, str(team_indexes["finance"]))
    deployment = ServingEngine(engine)
    routing = start_routing(settings, deployment, table,
                            EngineRegistry(index_loader(settings, engine.embedder), budget_bytes=10**9))
    running = start_bot(settings, deployment, store, routing=routing)
    yield running, routing
    running.stop()
    assert running.error is None, f"the bot died: {running.error!r}"


def test_each_channel_and_forum_is_answered_from_its_own_faq(
        standin: DiscordStandIn, routed_bot: tuple[RunningBot, Routing]) -> None:
    assert TEAM_MARK["it"] in asked(standin, mention_in(IT_CHANNEL, TEAM_QUESTION["it"]))
    assert TEAM_MARK["hr"] in asked(standin, mention_in(P.CHANNEL_ID, TEAM_QUESTION["hr"]))  # the server default
    thread, _starter = standin.forum_post("Expenses", TEAM_QUESTION["finance"])
    post = standin.api.wait_calls("POST", rf"/channels/{thread['id']}/messages", timeout=30)[0]
    assert TEAM_MARK["finance"] in shown(post)  # a forum post's thread follows its forum
    dm = asked(standin, P.dm_message(TEAM_QUESTION["hr"]))  # no server: nothing routed, no FAQ_INDEX
    assert messages.NO_FAQ_HERE in dm and not any(mark in dm for mark in TEAM_MARK.values())


def test_a_server_manager_changes_a_route_with_a_command_and_the_next_question_follows_it(
        standin: DiscordStandIn, routed_bot: tuple[RunningBot, Routing], store: Store,
        team_indexes: dict[str, Path]) -> None:
    synced = {c["name"]: c for commands in standin.api.commands.values() for c in commands}
    assert int(synced[COMMAND_NAME]["default_member_permissions"]) == 1 << 5  # Manage Server
    index = {"name": "index", "type": 3, "value": str(team_indexes["finance"])}
    channel = {"name": "channel", "type": 3, "value": f"<#{IT_CHANNEL}>"}
    refused = run_command(standin, route_command([index, channel], manager=False))
    assert refused == messages.DISCORD_ROUTE_ADMINS_ONLY
    assert TEAM_MARK["it"] in asked(standin, mention_in(IT_CHANNEL, TEAM_QUESTION["it"]))  # unchanged

    bad = run_command(standin, route_command([{**index, "value": "/no/such/folder"}, channel]))
    assert bad.startswith("Not changed:") and "no such folder" in bad
    done = run_command(standin, route_command([index, channel]))
    assert done.startswith("Done:") and f"<#{IT_CHANNEL}>" in done
    assert TEAM_MARK["finance"] in asked(standin, mention_in(IT_CHANNEL, TEAM_QUESTION["finance"]))
    [route] = [r for r in list_routes(store) if r.channel == IT_CHANNEL]
    assert route.updated_by == f"discord:{P.USER_ID}"

    removed = run_command(standin, route_command([channel, {"name": "remove", "type": 5, "value": True}]))
    assert removed.startswith("Done:")
    assert TEAM_MARK["hr"] in asked(standin, mention_in(IT_CHANNEL, TEAM_QUESTION["hr"]))  # the server default


def test_faq_answers_from_the_channels_faq(standin: DiscordStandIn, routed_bot: tuple[RunningBot, Routing]) -> None:
    standin.interaction(P.slash_command("faq", {"question": TEAM_QUESTION["hr"]}))
    [edit] = standin.api.wait_calls("PATCH", ORIGINAL)
    assert TEAM_MARK["hr"] in shown(edit)
    # the autocomplete's suggestions are the deployment's FAQ: none where another one answers
    standin.interaction(P.slash_command("faq", {"question": "medicare"}, focused="question"))
    calls = standin.api.wait_calls("POST", CALLBACK, count=2)
    assert calls[-1].body["type"] == 8 and calls[-1].body["data"]["choices"] == []
