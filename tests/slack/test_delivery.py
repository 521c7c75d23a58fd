"""Replies reach Slack once, whatever happens on the way (HTTP mode, the
Slack stand-in, real sockets): a 5xx is retried; a 5xx or a timeout that comes
*after* Slack posted the reply (an uncertain outcome) is resolved by looking
for the reply's metadata in the thread before posting again; and with the
store down, nothing is answered that the store did not record: the event is
not acknowledged (Slack delivers it again), ``/faq`` gets an honest
"unavailable right now", and the redelivery is answered once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest

from bot import messages
from bot.slack.settings import SlackSettings
from bot.slack.web_api import REPLY_EVENT_TYPE, make_web_client
from bot.store.database import Store
from faq_core.engine import FAQEngine
from tests.slack.conftest import RunningBot, start_bot, stop_bot
from tests.stubs.slack_api import BOT_TOKEN, BOT_USER_ID, Scripted, SlackAPIStub
from tests.stubs.slack_payloads import CHANNEL, mention, signed_event, signed_form, slash_command

MENTION = f"<@{BOT_USER_ID}>"
CLIENT_TIMEOUT = 1  # seconds: the stand-in's scripted hang outlasts it


@pytest.fixture()
def impatient_bot(settings: SlackSettings, engine: FAQEngine, store: Store,
                  slack_api: SlackAPIStub) -> Iterator[RunningBot]:
    """The bot with a Web API client that gives up after one second."""
    client = make_web_client(BOT_TOKEN, slack_api.base_url, timeout=CLIENT_TIMEOUT)
    running = start_bot(settings, engine, store, client=client)
    yield running
    stop_bot(running)


def _thread_replies(slack_api: SlackAPIStub, thread_ts: str) -> list[dict]:
    return [m for (channel, _), m in slack_api.messages.items()
            if channel == CHANNEL and m.get("thread_ts") == thread_ts]


def test_a_5xx_is_retried_and_each_reply_is_posted_once(impatient_bot: RunningBot, slack_api: SlackAPIStub) -> None:
    failure = Scripted(500, {"ok": False, "error": "internal_error"})
    slack_api.script("chat.postMessage", failure, failure)
    events = [mention(f"{MENTION} how do I get a replacement card? ({n})") for n in range(3)]
    for event in events:
        assert impatient_bot.send(signed_event(event)).status_code == 200
    slack_api.wait_for(lambda calls: sum(c.method == "chat.postMessage" and c.ok for c in calls) >= 3, timeout=60)
    impatient_bot.settle()
    for event in events:
        [reply] = _thread_replies(slack_api, event["event"]["ts"])
        assert reply["metadata"]["event_type"] == REPLY_EVENT_TYPE
    assert [c.status for c in slack_api.calls_to("chat.postMessage")].count(500) == 2


@pytest.mark.parametrize("outcome", [
    Scripted(500, {"ok": False, "error": "internal_error"}, apply=True),  # posted, then a 5xx
    Scripted(200, None, delay=CLIENT_TIMEOUT + 1.5, apply=True),  # posted, but the answer came too late
], ids=["5xx-after-posting", "timeout-after-posting"])
def test_an_uncertain_outcome_does_not_become_a_duplicate(
    impatient_bot: RunningBot, slack_api: SlackAPIStub, outcome: Scripted
) -> None:
    slack_api.script("chat.postMessage", outcome)
    event = mention(f"{MENTION} what does Medicare Part B cost?")
    assert impatient_bot.send(signed_event(event)).status_code == 200
    looked = slack_api.wait_calls("conversations.replies", timeout=60)  # the bot checked before posting again
    impatient_bot.settle()
    [reply] = _thread_replies(slack_api, event["event"]["ts"])  # Slack shows one reply
    assert "Part B" in reply["text"]
    assert looked[0].params["ts"] == event["event"]["ts"]
    assert len(slack_api.calls_to("chat.postMessage")) == 1  # and it was posted once
    metadata = json.loads(json.dumps(reply["metadata"]))
    assert metadata["event_payload"]["key"] == f"message:{CHANNEL}:{event['event']['ts']}"


def test_history_hides_metadata_unless_asked_like_slack(slack_api: SlackAPIStub) -> None:
    client = make_web_client(BOT_TOKEN, slack_api.base_url)
    client.chat_postMessage(channel="D1", text="hi", metadata={"event_type": "x", "event_payload": {"k": 1}})
    assert "metadata" not in client.conversations_history(channel="D1")["messages"][0]
    [message] = client.conversations_history(channel="D1", include_all_metadata=True)["messages"]
    assert message["metadata"] == {"event_type": "x", "event_payload": {"k": 1}}


def test_with_the_store_down_nothing_is_acknowledged_or_answered_and_a_redelivery_is_answered_once(
    settings: SlackSettings, engine: FAQEngine, store: Store, slack_api: SlackAPIStub
) -> None:
    down_store = Store("postgresql://postgres@127.0.0.1:1/none", upgrade=False)  # nothing listens on port 1
    down = start_bot(replace(settings, database_url=down_store.url), engine, down_store)
    healthy = start_bot(settings, engine, store)
    try:
        assert not down_store.reachable()
        event = mention(f"{MENTION} how do I sign up for Medicare?")
        refused = down.send(signed_event(event))
        assert refused.status_code == 500  # not acknowledged: Slack keeps it and delivers it again
        command = down.send(signed_form(slash_command("how do I sign up?", slack_api.response_url("c1"))))
        assert command.status_code == 200
        assert command.json()["text"] == messages.STORE_UNAVAILABLE  # honest, and only to the asker
        assert slack_api.replies() == []  # nothing answered that nothing recorded (checked again below)

        # Slack's retry reaches a replica whose store answers (or this one, once its store is back)
        assert healthy.send(signed_event(event, retry=1)).status_code == 200
        assert healthy.send(signed_event(event, retry=2)).status_code == 200
        slack_api.wait_calls("chat.postMessage", timeout=60)
        healthy.settle()
        assert len(slack_api.calls_to("chat.postMessage")) == 1
        assert slack_api.calls_to("response_url") == []
    finally:
        stop_bot(down)
        stop_bot(healthy)
        down_store.close()
