"""The bot over Socket Mode, end to end: ``apps.connections.open`` at the Web
API stand-in hands out the URL of a local WebSocket server that speaks
Slack's envelope protocol; every envelope must be acknowledged, and every
question answered once, retries included."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError

from bot import messages
from bot.slack import blocks
from bot.slack.app import build_app, drain
from bot.slack.serve import CheckedSocketModeHandler, close_socket_mode
from bot.slack.settings import SlackSettings
from bot.store.database import Store
from faq_core.engine import FAQEngine
from tests.slack.conftest import SocketBot, close_socket_bot, connect_socket_bot
from tests.stubs.hostile import socket_mode_corpus
from tests.stubs.slack_api import APP_TOKEN, BOT_USER_ID, SlackAPIStub
from tests.stubs.slack_payloads import (
    CHANNEL,
    DM_CHANNEL,
    button_click,
    buttons,
    direct_message,
    home_opened,
    mention,
    slash_command,
)
from tests.stubs.socket_mode import SocketModeStub

MENTION = f"<@{BOT_USER_ID}>"


@pytest.fixture()
def socket_bot(settings: SlackSettings, engine: FAQEngine, store: Store, slack_api: SlackAPIStub,
               socket_server: SocketModeStub) -> Iterator[SocketBot]:
    """The bot connected over Socket Mode (no signing secret: nothing is served over HTTP)."""
    running = connect_socket_bot(settings, engine, store, slack_api, socket_server)
    yield running
    close_socket_bot(running)


def test_connects_with_the_app_token_and_receives_hello(socket_bot: SocketBot) -> None:
    [opened] = socket_bot.api.calls_to("apps.connections.open")
    assert opened.ok
    assert opened.headers["authorization"] == f"Bearer {APP_TOKEN}"
    assert socket_bot.server.connection_paths[0].startswith("/link/?ticket=")


def test_every_envelope_is_acknowledged_and_each_question_answered_once(socket_bot: SocketBot) -> None:
    server, api = socket_bot.server, socket_bot.api
    ask = mention(f"{MENTION} I lost my Medicare card")
    dm = direct_message("how much does Part B cost each month?")
    ids = [
        server.send("events_api", ask),
        server.send("events_api", ask, retry_attempt=1, retry_reason="timeout"),
        server.send("events_api", ask, retry_attempt=2, retry_reason="timeout"),
        server.send("events_api", dm),
        server.send("events_api", dm, retry_attempt=1, retry_reason="timeout"),
        server.send("events_api", direct_message("edited", subtype="message_changed")),
    ]
    acks = server.wait_acks(*ids)
    assert sorted(a["envelope_id"] for a in acks) == sorted(ids)  # each acknowledged exactly once
    socket_bot.settle()
    posts = api.calls_to("chat.postMessage")
    assert len(posts) == 2
    by_channel = {p.params["channel"]: p for p in posts}
    mention_reply, dm_reply = by_channel[CHANNEL], by_channel[DM_CHANNEL]
    assert mention_reply.params["thread_ts"] == ask["event"]["ts"]
    assert "How do I get a replacement Medicare card?" in mention_reply.params["text"]
    assert "% confidence" in json.dumps(mention_reply.params["blocks"])
    assert "What is the monthly premium for Medicare Part B?" in dm_reply.params["text"]
    assert dm_reply.params.get("thread_ts") is None


def test_slash_command_and_buttons_over_socket_mode(socket_bot: SocketBot, store: Store, engine: FAQEngine) -> None:
    server, api = socket_bot.server, socket_bot.api
    empty = server.send("slash_commands", slash_command("", api.response_url("empty")))
    [ack] = server.wait_acks(empty)
    assert ack["payload"]["response_type"] == "ephemeral"  # usage help rides on the ack
    assert ack["payload"]["text"] == messages.USAGE_FALLBACK.format(example=engine.info.example)

    asked = server.send("slash_commands", slash_command("can I cancel Part B?", api.response_url("cmd")))
    [ack] = server.wait_acks(asked)
    assert "payload" not in ack or not ack["payload"]
    [reply] = api.wait_calls("response_url")
    assert reply.params["response_type"] == "ephemeral"
    assert "How do I terminate my Medicare Part B" in reply.params["text"]

    vote = buttons(reply.params["blocks"])[blocks.HELPFUL]
    clicked = server.send("interactive", button_click(vote, response_url=api.response_url("vote"), ephemeral=True))
    server.wait_acks(clicked)
    updated = api.wait_calls("response_url", count=2)[1]
    assert updated.params["replace_original"] is True
    assert "your vote was recorded: helpful" in json.dumps(updated.params["blocks"])
    assert [(v.faq_id, v.vote) for v in store.votes()] == [("terminate-part-b", "helpful")]

    home = server.send("events_api", home_opened())
    server.wait_acks(home)
    [publish] = api.wait_calls("views.publish")
    assert publish.ok and publish.params["view"]["type"] == "home"


def test_a_rejected_app_token_stops_the_connection(settings: SlackSettings, engine: FAQEngine, store: Store,
                                                   socket_server: SocketModeStub) -> None:
    app = build_app(replace(settings, slack_signing_secret=None), engine, store)
    handler = SocketModeHandler(app, app_token="xapp-1-A111-0000-revoked")
    try:
        with pytest.raises(SlackApiError) as raised:
            handler.connect()
        assert raised.value.response["error"] == "invalid_auth"
    finally:
        handler.close()
    assert socket_server.connection_paths == []


def test_reconnects_when_slack_asks_and_keeps_answering(socket_bot: SocketBot) -> None:
    server, api = socket_bot.server, socket_bot.api
    server.disconnect("refresh_requested")
    server.wait_connected(connections=2)  # a fresh URL from apps.connections.open, a new socket
    assert len(api.calls_to("apps.connections.open")) == 2
    envelope = server.send("events_api", direct_message("what is TRICARE?"))
    server.wait_acks(envelope)
    [post] = api.wait_calls("chat.postMessage")
    assert "TRICARE" in post.params["text"]


def test_malformed_envelopes_are_acked_and_dropped_with_one_log_line(
    socket_bot: SocketBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    server, api = socket_bot.server, socket_bot.api
    broken = mention(f"{MENTION} hi")
    sent = [
        server.send("events_api", {**broken, "event": None}),
        server.send("events_api", {**broken, "event": ["not", "an", "object"]}),
        server.send("events_api", {**home_opened(), "event": {"type": "app_home_opened", "tab": "home"}}),
        server.send("interactive", {"type": "block_actions", "user": {"id": "U1"}, "actions": [],
                                    "trigger_id": "t", "response_url": api.response_url("x")}),
        server.send("slash_commands", {k: v for k, v in slash_command("hi", "x").items() if k != "response_url"}),
    ]
    acks = server.wait_acks(*sent)
    assert all(not ack.get("payload") for ack in acks)
    dropped = [r for r in caplog.records if "dropped a malformed Socket Mode" in r.getMessage()]
    assert len(dropped) == len(sent)
    assert not [r for r in caplog.records if r.exc_info]
    ok = server.send("events_api", mention(f"{MENTION} I lost my Medicare card"))
    server.wait_acks(ok)
    [post] = api.wait_calls("chat.postMessage")
    assert "How do I get a replacement Medicare card?" in post.params["text"]


def test_four_hundred_mutated_envelopes_leave_no_traceback_and_the_bot_still_answers(
    socket_bot: SocketBot, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO)
    server, api = socket_bot.server, socket_bot.api
    sent = [server.send(kind, payload)
            for _, kind, payload in socket_mode_corpus(400, seed=8, response_url=api.response_url("fuzz"))]
    server.wait_acks(*sent, timeout=60)  # every one acknowledged, so Slack would not resend it
    ok = server.send("events_api", mention(f"{MENTION} I lost my Medicare card"))
    server.wait_acks(ok)
    api.wait_for(lambda calls: any("How do I get a replacement Medicare card?" in str(c.params.get("text"))
                                   for c in calls if c.method == "chat.postMessage"))
    socket_bot.settle()
    assert not [r.getMessage()[:120] for r in caplog.records if r.exc_info]
    assert "Traceback" not in capfd.readouterr().err


def test_with_the_store_down_an_event_is_not_acknowledged_and_faq_says_unavailable(
    settings: SlackSettings, engine: FAQEngine, slack_api: SlackAPIStub, socket_server: SocketModeStub
) -> None:
    down = Store("postgresql://postgres@127.0.0.1:1/none", upgrade=False)  # nothing listens on port 1
    app = build_app(replace(settings, slack_signing_secret=None, slack_app_token=APP_TOKEN), engine, down)
    handler = CheckedSocketModeHandler(app, app_token=APP_TOKEN)
    handler.connect()
    socket_server.wait_connected()
    try:
        event = socket_server.send("events_api", mention(f"{MENTION} I lost my Medicare card"))
        command = socket_server.send("slash_commands", slash_command("can I cancel Part B?",
                                                                     slack_api.response_url("cmd")))
        [ack] = socket_server.wait_acks(command)
        assert ack["payload"]["text"] == messages.STORE_UNAVAILABLE
        ignored = socket_server.send("events_api", direct_message("edited", subtype="message_changed"))
        socket_server.wait_acks(ignored)  # later envelopes are acknowledged; the unrecorded event is not
        assert event not in {a["envelope_id"] for a in socket_server.acks}  # so Slack delivers it again
        assert slack_api.replies() == []
    finally:
        close_socket_mode(handler)
        drain(app)
        down.close()


class _StuckHandler:
    """A handler whose close never returns, as slack_sdk's can when a session
    was reconnecting while it closed."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.close_called = threading.Event()

    def close(self) -> None:
        self.close_called.set()
        self.release.wait()


def test_shutdown_does_not_hang_on_a_socket_mode_close_that_never_returns(caplog: pytest.LogCaptureFixture) -> None:
    stuck = _StuckHandler()
    try:
        closed = close_socket_mode(stuck, timeout=0.2)  # type: ignore[arg-type]
        assert closed is False and stuck.close_called.is_set()
        assert "did not close within" in caplog.text
    finally:
        stuck.release.set()


def test_a_socket_mode_close_that_returns_is_reported_closed(socket_bot: SocketBot) -> None:
    assert close_socket_mode(socket_bot.handler) is True
    assert not socket_bot.handler.client.is_connected()
