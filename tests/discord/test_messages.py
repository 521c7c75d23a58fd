"""Mentions and DMs on Discord, answered exactly once: re-delivered after a
Gateway resume, seen by two replicas, left half-done by a crash; plus
Discord's 429s, an embedding outage and the Slack suite's awkward inputs."""

from __future__ import annotations

import json
import time

import pytest
import requests

from bot import messages
from bot.discord.handlers import MESSAGE
from bot.discord.settings import DiscordSettings
from bot.store.database import Store
from bot.store.intake import Intake
from faq_core.engine import FAQEngine
from faq_core.errors import EmbeddingUnavailableError
from tests.discord.conftest import MESSAGES, RunningBot, start_bot
from tests.stubs import discord_payloads as P
from tests.stubs.discord_api import DiscordCall
from tests.stubs.discord_standin import DiscordStandIn

MENTION = f"<@{P.BOT_USER_ID}>"
REPLACEMENT = "How do I get a replacement Medicare card?"
LONG = "I lost my Medicare card and " + "I really need to know what to do next, please help. " * 80
CODE = "how do I sign up for Medicare?\n```\ncurl -X POST https://example.com/enroll\n```"
OTHER = "1000000000000000777"


def _shown(call: DiscordCall) -> str:
    return json.dumps({k: call.body.get(k) for k in ("content", "embeds", "components")}, ensure_ascii=False)


def test_a_mention_is_answered_in_a_reply(standin: DiscordStandIn, bot: RunningBot) -> None:
    question = P.mention_message("I lost my Medicare card, what do I do?")
    standin.message(question)
    [post] = standin.api.wait_calls("POST", MESSAGES)
    assert post.status == 200, post.response
    assert post.route == f"/channels/{P.CHANNEL_ID}/messages"
    assert post.body["message_reference"]["message_id"] == question["id"]
    assert post.body["embeds"][0]["title"] == REPLACEMENT
    assert post.body["nonce"] == question["id"] and post.body["enforce_nonce"] is True


def test_a_dm_is_answered_in_the_dm(standin: DiscordStandIn, bot: RunningBot) -> None:
    standin.message(P.dm_message("I lost my Medicare card, what do I do?"))
    [post] = standin.api.wait_calls("POST", MESSAGES)
    assert post.status == 200 and post.route == f"/channels/{P.DM_CHANNEL_ID}/messages"
    assert post.body["embeds"][0]["title"] == REPLACEMENT


def test_messages_not_for_the_bot_are_ignored(standin: DiscordStandIn, bot: RunningBot) -> None:
    standin.message(P.message("a chat that does not mention the bot"))
    standin.message(P.message(f"{MENTION} a bot's own echo", author=P.user(OTHER, "otherbot", bot=True)))
    standin.message(P.dm_message("this one is for the bot"))
    posts = standin.api.wait_calls("POST", MESSAGES)
    bot.bot.settle()
    assert [p.route for p in standin.api.calls_to("POST", MESSAGES)] == [p.route for p in posts[:1]]
    assert posts[0].route == f"/channels/{P.DM_CHANNEL_ID}/messages"


def test_a_message_redelivered_after_a_resume_is_answered_once(standin: DiscordStandIn, bot: RunningBot) -> None:
    first = P.mention_message("How do I replace my Medicare card?")
    standin.message(first)
    standin.api.wait_calls("POST", MESSAGES)
    standin.gateway.redeliver_on_resume(1)
    standin.gateway.drop()
    session = standin.gateway.wait_resumed()
    assert len(session.replayed) >= 1  # the stand-in did send it again
    standin.message(P.dm_message("and after the resume?"))
    posts = standin.api.wait_calls("POST", MESSAGES, count=2)
    bot.bot.settle()
    assert len(standin.api.calls_to("POST", MESSAGES)) == 2
    assert posts[1].route == f"/channels/{P.DM_CHANNEL_ID}/messages"


def test_two_replicas_answer_each_message_once(standin: DiscordStandIn, settings: DiscordSettings, engine: FAQEngine,
                                               store: Store) -> None:
    replicas = [start_bot(settings, engine, Store(settings.database_url)) for _ in range(2)]
    try:
        standin.gateway.wait_identified(count=2)
        questions = [P.mention_message(f"Question {i}: how do I replace my Medicare card?") for i in range(6)]
        for question in questions:
            standin.api.remember(question)
            standin.gateway.dispatch_all("MESSAGE_CREATE", question)
        standin.api.wait_calls("POST", MESSAGES, count=len(questions))
        for replica in replicas:
            replica.bot.settle()
        answered = [c.body["message_reference"]["message_id"] for c in standin.api.calls_to("POST", MESSAGES)]
        assert sorted(answered) == sorted(q["id"] for q in questions)  # each once, none twice
    finally:
        for replica in replicas:
            replica.stop()
            replica.bot.store.close()


def test_a_crashed_replicas_half_done_work_is_answered_once(standin: DiscordStandIn, settings: DiscordSettings,
                                                            engine: FAQEngine, store: Store) -> None:
    # a process recorded the question, posted its reply, and died before marking the row done
    question = P.mention_message("How do I replace my Medicare card?")
    standin.api.remember(question)
    intake = Intake(store, lease_seconds=0.5)
    payload = {"message_id": question["id"], "channel_id": P.CHANNEL_ID, "guild_id": P.GUILD_ID,
               "author_id": P.USER_ID, "question": "How do I replace my Medicare card?", "dm": False,
               "bot_user_id": P.BOT_USER_ID}
    assert intake.add(f"message:{question['id']}", MESSAGE, payload)
    assert len(intake.claim(1)) == 1  # the dead process's claim
    already = {"content": "the dead process's reply", "nonce": question["id"], "enforce_nonce": True,
               "message_reference": {"message_id": question["id"]}}
    sent = requests.post(f"{standin.api.base_url}/channels/{P.CHANNEL_ID}/messages", json=already, timeout=5,
                         headers={"Authorization": f"Bot {P.BOT_TOKEN}"})
    assert sent.status_code == 200
    time.sleep(0.6)  # the dead process's lease runs out
    running = start_bot(settings, engine, store, poll_seconds=0.1)
    try:
        posts = standin.api.wait_calls("POST", MESSAGES, count=2)
        running.bot.settle()
        # the retry's post carried the same nonce: Discord handed back the first reply, no second message
        assert posts[1].response["id"] == sent.json()["id"]
        assert [m for m in standin.api.messages.values() if m["author"]["id"] == P.BOT_USER_ID] == [sent.json()]
        assert intake.counts() == {"done": 1}
    finally:
        running.stop()


def test_discords_429_is_waited_out(standin: DiscordStandIn, bot: RunningBot) -> None:
    standin.api.rate_limit(r"POST /channels/\d+/messages", retry_after=0.3, times=1)
    standin.message(P.dm_message("I lost my Medicare card, what do I do?"))
    calls = standin.api.wait_calls("POST", MESSAGES, count=2)
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 0.25  # it waited retry_after before trying again


def test_an_embedding_outage_gets_the_unavailable_reply(standin: DiscordStandIn, bot: RunningBot,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def down(question: str) -> None:
        raise EmbeddingUnavailableError("the embedding service is down")

    monkeypatch.setattr(bot.bot.answerer.batcher, "answer", down)
    standin.message(P.mention_message("I lost my Medicare card, what do I do?"))
    [post] = standin.api.wait_calls("POST", MESSAGES)
    assert post.status == 200 and post.body["content"] == messages.SERVICE_UNAVAILABLE


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        (MENTION, "usage"),
        (f"{MENTION}   ", "usage"),
        (f"{MENTION} <:wave:1000000000000000888> 🤔👍", "usage"),
        (f"{MENTION} ???", "usage"),
        (f"{MENTION} {LONG}", "truncated"),
        (f"{MENTION} {CODE}", "How do I sign up for Medicare?"),
        (f"{MENTION} can <@{OTHER}> get a replacement card? cc <@!{OTHER}>", "replacement"),
        (f"{MENTION} see [this page](https://www.medicare.gov/card) & <#{P.CHANNEL_ID}>: lost card?",
         "replacement"),
        (f"{MENTION} ¿Cuánto cuesta la Parte B de Medicare cada mes?", "reply"),
        (f"{MENTION} メディケアのカードをなくしました", "reply"),
        (f"{MENTION} @here 10:30 meeting about Part B premiums", "reply"),
    ],
    ids=["only-mention", "mention-and-spaces", "only-emoji", "only-punctuation", "4000-chars", "code-block",
         "other-users", "links-and-channels", "spanish", "japanese", "here-and-time"],
)
def test_awkward_mentions_get_a_sensible_reply(standin: DiscordStandIn, bot: RunningBot, engine: FAQEngine,
                                               text: str, expect: str) -> None:
    standin.message(P.message(text, mentions=[P.bot_user()]))
    [post] = standin.api.wait_calls("POST", MESSAGES)
    assert post.status == 200, post.response  # Discord accepted it: within every limit
    shown = _shown(post)
    if expect == "usage":
        assert "Ask me a question" in post.body["content"] and engine.info.example in post.body["content"]
    elif expect == "truncated":
        assert "I only read the first 2,000 characters of your question." in shown
        assert REPLACEMENT in shown
    elif expect == "reply":
        assert "You asked:" in shown and ("% confidence" in shown or "I don't have a good answer" in shown)
    else:
        assert expect in shown
    assert f"<@{OTHER}>" not in shown and f"<@!{OTHER}>" not in shown  # nobody is pinged by the echo
    assert post.body["allowed_mentions"] == {"parse": []}
