"""The opt-in forum auto-answer (``DISCORD_FORUM_CHANNEL_IDS``), against the
stand-in with the real discord.py client: a new post in a configured forum
is answered once in its thread, even when its starter message 404s at first
and when two replicas both see it; a post with no good answer, a post in
another forum and every post without the setting get no reply; the Message
Content intent is asked for only with the setting."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from bot.discord.settings import DiscordSettings
from bot.features.recording import recorded_questions
from bot.store.database import Store
from faq_core.engine import FAQEngine
from tests.discord.conftest import MESSAGES, RunningBot, serving, start_bot
from tests.stubs import discord_payloads as P
from tests.stubs.discord_standin import DiscordStandIn

REPLACEMENT = "How do I get a replacement Medicare card?"
UNANSWERABLE = "What's the wifi password in the Berlin office?"
OTHER_FORUM = "1000000000000000699"


@pytest.fixture()
def forum_settings(settings: DiscordSettings, standin: DiscordStandIn) -> DiscordSettings:
    standin.gateway.privileged_allowed = P.MESSAGE_CONTENT_INTENT  # switched on in the Developer Portal
    return dataclasses.replace(settings, discord_forum_channel_ids=(int(P.FORUM_CHANNEL_ID),))


@pytest.fixture()
def forum_bot(forum_settings: DiscordSettings, engine: FAQEngine, store: Store) -> Iterator[RunningBot]:
    yield from serving(forum_settings, engine, store)


def _starter_gets(standin: DiscordStandIn, thread: dict) -> list[int]:
    return [c.status for c in standin.api.calls_to("GET", rf"/channels/{thread['id']}/messages/{thread['id']}")]


def test_a_new_forum_post_is_answered_in_its_thread_after_its_starter_404s(
    standin: DiscordStandIn, forum_bot: RunningBot, store: Store
) -> None:
    assert standin.gateway.intents[-1] & P.MESSAGE_CONTENT_INTENT  # asked for, and allowed
    thread, _starter = standin.forum_post("Lost card", "I lost my Medicare card, what do I do?", missing_for=4)
    [post] = standin.api.wait_calls("POST", MESSAGES, timeout=30)
    assert post.status == 200, post.response
    assert post.route == f"/channels/{thread['id']}/messages"  # in the post's thread
    assert post.body["message_reference"]["message_id"] == thread["id"]  # a reply to the starter message
    assert post.body["embeds"][0]["title"] == REPLACEMENT
    assert post.body["nonce"] == thread["id"][-25:] and post.body["enforce_nonce"] is True
    assert _starter_gets(standin, thread) == [404, 404, 404, 404, 200]  # quick tries, then the intake's retry
    forum_bot.bot.settle()
    assert len(standin.api.calls_to("POST", MESSAGES)) == 1
    [question] = recorded_questions(store)
    assert question.channel_kind == "forum" and question.platform == "discord"


def test_two_replicas_answer_a_forum_post_once(standin: DiscordStandIn, forum_settings: DiscordSettings,
                                               engine: FAQEngine) -> None:
    replicas = [start_bot(forum_settings, engine, Store(forum_settings.database_url)) for _ in range(2)]
    try:
        standin.gateway.wait_identified(count=2)
        threads = [standin.forum_post(f"Card {i}", "How do I replace my Medicare card?", to_all=True)[0]
                   for i in range(3)]
        standin.api.wait_calls("POST", MESSAGES, count=len(threads))
        for replica in replicas:
            replica.bot.settle()
        answered = [c.route for c in standin.api.calls_to("POST", MESSAGES)]
        assert sorted(answered) == sorted(f"/channels/{t['id']}/messages" for t in threads)  # each once
    finally:
        for replica in replicas:
            replica.stop()
            replica.bot.store.close()


def test_no_good_answer_or_another_forum_gets_no_reply(standin: DiscordStandIn, forum_bot: RunningBot,
                                                       store: Store) -> None:
    quiet, _ = standin.forum_post("Office wifi", UNANSWERABLE)
    elsewhere, _ = standin.forum_post("Card", "I lost my Medicare card, what do I do?", forum_id=OTHER_FORUM)
    standin.api.wait_calls("GET", rf"/channels/{quiet['id']}/messages/{quiet['id']}")
    answered, _ = standin.forum_post("Card", "I lost my Medicare card, what do I do?")  # the bot still answers
    [post] = standin.api.wait_calls("POST", MESSAGES)
    forum_bot.bot.settle()
    assert post.route == f"/channels/{answered['id']}/messages"
    assert _starter_gets(standin, elsewhere) == []  # never even fetched
    # the quiet one is still recorded, for the review loop's list of misses
    assert sorted(q.outcome for q in recorded_questions(store)) == ["answered", "no_match"]


def test_without_the_setting_no_intent_is_asked_and_forums_are_ignored(standin: DiscordStandIn,
                                                                       bot: RunningBot) -> None:
    assert not standin.gateway.intents[-1] & P.MESSAGE_CONTENT_INTENT
    thread, _ = standin.forum_post("Card", "I lost my Medicare card, what do I do?")
    standin.message(P.dm_message("and a DM?"))  # answered: the bot is listening
    [post] = standin.api.wait_calls("POST", MESSAGES)
    bot.bot.settle()
    assert post.route == f"/channels/{P.DM_CHANNEL_ID}/messages"
    assert _starter_gets(standin, thread) == []
