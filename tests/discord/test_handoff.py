""""Ask a person" on Discord, against the stand-in with the real discord.py
client: an unanswered reply offers it when ``DISCORD_HANDOFF_CHANNEL`` is
set; the first click posts the question there with a jump link to the message
that asked it, once, and the clicker is told where it went; later clicks are
told it already went; a channel Discord refuses releases the claim; ``/faq``
and DMs have no link to give and say so."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator

import pytest

from bot import messages
from bot.discord import render
from bot.discord.settings import DiscordSettings
from bot.features.handoff import handoffs
from bot.store.database import Store
from faq_core.engine import FAQEngine
from tests.discord.conftest import FOLLOWUP, MESSAGES, ORIGINAL, RunningBot, start_bot
from tests.discord.test_commands import _buttons, _click, _command
from tests.stubs import discord_payloads as P
from tests.stubs.discord_api import DiscordCall
from tests.stubs.discord_standin import DiscordStandIn

UNANSWERABLE = "What's the wifi password in the Berlin office?"
HANDOFF_POSTS = rf"/channels/{P.HANDOFF_CHANNEL_ID}/messages"
ELSEWHERE = "1000000000000000399"


@pytest.fixture()
def handoff_bot(settings: DiscordSettings, engine: FAQEngine, store: Store) -> Iterator[RunningBot]:
    running = start_bot(dataclasses.replace(settings, discord_handoff_channel=P.HANDOFF_CHANNEL_ID), engine, store)
    yield running
    running.stop()
    assert running.error is None, f"the bot died: {running.error!r}"


def _ask(standin: DiscordStandIn) -> tuple[dict, DiscordCall]:
    """Mention the bot with an unanswerable question; (the question, the bot's reply)."""
    question = P.mention_message(UNANSWERABLE)
    standin.message(question)
    [reply] = standin.api.wait_calls("POST", MESSAGES)
    assert reply.status == 200, reply.response
    return question, reply


def _told(standin: DiscordStandIn, count: int) -> DiscordCall:
    """The ``count``-th follow-up: what the clicker was told, privately."""
    told = standin.api.wait_calls("POST", FOLLOWUP, count=count)[count - 1]
    assert told.status == 200 and told.body["flags"] & P.EPHEMERAL
    return told


def test_an_unanswered_mention_is_handed_off_once_with_a_jump_link(standin: DiscordStandIn, handoff_bot: RunningBot,
                                                                   store: Store) -> None:
    question, reply = _ask(standin)
    [embed] = reply.body["embeds"]
    assert f"<#{P.HANDOFF_CHANNEL_ID}>" in embed["description"]  # the offer says where it would go
    assert messages.BUTTON_HANDOFF in _buttons(reply.body).values()

    _click(standin, render.HANDOFF, reply.response)
    [post] = standin.api.wait_calls("POST", HANDOFF_POSTS)
    assert post.status == 200
    content = post.body["content"]
    assert f"<@{P.USER_ID}>" in content and "wifi password in the Berlin office" in content
    assert f"https://discord.com/channels/{P.GUILD_ID}/{P.CHANNEL_ID}/{question['id']}" in content
    assert post.body["allowed_mentions"] == {"parse": []} and post.body["enforce_nonce"] is True
    told = _told(standin, 1)
    assert told.body["content"] == messages.HANDOFF_SENT.format(where=f"<#{P.HANDOFF_CHANNEL_ID}>")

    _click(standin, render.HANDOFF, reply.response)  # again, and by someone else: not posted twice
    _click(standin, render.HANDOFF, reply.response, user=ELSEWHERE)
    assert _told(standin, 3).body["content"] == messages.HANDOFF_ALREADY.format(where=f"<#{P.HANDOFF_CHANNEL_ID}>")
    handoff_bot.bot.settle()
    assert len(standin.api.calls_to("POST", HANDOFF_POSTS)) == 1
    [row] = handoffs(store)
    assert row.target == P.HANDOFF_CHANNEL_ID and row.requested_by == P.USER_ID and row.posted_ts == post.response["id"]


def test_faq_and_dm_questions_say_there_is_no_message_to_open(standin: DiscordStandIn,
                                                              handoff_bot: RunningBot) -> None:
    _callback, edit = _command(standin, UNANSWERABLE)
    _click(standin, render.HANDOFF, {**edit.response, "flags": P.EPHEMERAL})
    [post] = standin.api.wait_calls("POST", HANDOFF_POSTS)
    assert messages.HANDOFF_POST_NO_LINK in post.body["content"] and "discord.com/channels" not in post.body["content"]

    standin.message(P.dm_message(UNANSWERABLE))
    [dm_reply] = standin.api.wait_calls("POST", rf"/channels/{P.DM_CHANNEL_ID}/messages")
    [button_id] = [c for c in _buttons(dm_reply.body) if c.startswith(f"faq:{render.HANDOFF}:")]
    standin.interaction(P.button_click(button_id, dm_reply.response))  # a DM click: no guild
    post = standin.api.wait_calls("POST", HANDOFF_POSTS, count=2)[1]
    assert messages.DISCORD_HANDOFF_POST_DM in post.body["content"]


def test_a_channel_discord_refuses_releases_the_claim_and_says_so(
    standin: DiscordStandIn, handoff_bot: RunningBot, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    _question, reply = _ask(standin)
    standin.api.deny(P.HANDOFF_CHANNEL_ID)  # the bot lost access to the hand-off channel
    with caplog.at_level(logging.ERROR, logger="bot.discord.handoff"):
        _click(standin, render.HANDOFF, reply.response)
        assert _told(standin, 1).body["content"] == messages.HANDOFF_FAILED
    [refused] = standin.api.calls_to("POST", HANDOFF_POSTS)
    assert refused.status == 403
    assert "DISCORD_HANDOFF_CHANNEL" in caplog.text and handoffs(store) == []

    standin.api.denied.clear()  # access given back: the next click hands it off
    _click(standin, render.HANDOFF, reply.response)
    assert _told(standin, 2).body["content"].startswith("I've passed your question")
    assert [c.status for c in standin.api.calls_to("POST", HANDOFF_POSTS)] == [403, 200]


def test_without_the_setting_there_is_no_button(standin: DiscordStandIn, settings: DiscordSettings, engine: FAQEngine,
                                                store: Store) -> None:
    running = start_bot(dataclasses.replace(settings, faq_handoff_text="Ask in #help-desk."), engine, store)
    try:
        _callback, edit = _command(standin, UNANSWERABLE)
    finally:
        running.stop()
    assert messages.BUTTON_HANDOFF not in _buttons(edit.body).values()
    assert "Ask in #help-desk." in edit.body["embeds"][0]["footer"]["text"]
    assert standin.api.calls_to("PATCH", ORIGINAL)[0].status == 200
