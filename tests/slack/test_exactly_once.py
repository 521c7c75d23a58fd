"""Each event is answered once: Slack's retries, a mention that also arrives
as a DM message, two replicas sharing one store (SQLite, and PostgreSQL when
``TEST_DATABASE_URL`` is set), and a restart in between; and a reply still
arrives when Slack rate-limits the first post.

Tests wait on events (the stand-in's recorded calls, the workers going idle)
with generous deadlines, never a fixed sleep."""

from __future__ import annotations

import threading
from dataclasses import replace

from bot.slack.settings import SlackSettings
from bot.store.database import Store
from faq_core.engine import FAQEngine
from tests.slack.conftest import RunningBot, start_bot, stop_bot
from tests.stubs.slack_api import BOT_USER_ID, Scripted, SlackAPIStub
from tests.stubs.slack_payloads import direct_message, mention, signed_event

MENTION = f"<@{BOT_USER_ID}>"


def settle(*bots: RunningBot) -> None:
    """Wait until every piece of work the bots accepted has finished."""
    for bot in bots:
        bot.settle()


def test_an_event_retried_three_times_gets_exactly_one_reply(bot: RunningBot, slack_api: SlackAPIStub) -> None:
    event = mention(f"{MENTION} I lost my Medicare card")
    statuses = [bot.send(signed_event(event, retry=attempt)).status_code for attempt in (None, 1, 2)]
    assert statuses == [200, 200, 200]  # every delivery is acknowledged, so Slack stops retrying
    slack_api.wait_calls("chat.postMessage")
    settle(bot)
    assert len(slack_api.calls_to("chat.postMessage")) == 1


def test_simultaneous_deliveries_of_one_event_get_one_reply(bot: RunningBot, slack_api: SlackAPIStub) -> None:
    event = direct_message("how do I sign up for Medicare?")
    start = threading.Barrier(4)
    statuses: list[int] = []

    def deliver(attempt: int) -> None:
        start.wait()
        statuses.append(bot.send(signed_event(event, retry=attempt or None)).status_code)

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 4
    slack_api.wait_calls("chat.postMessage", timeout=60)  # the reply, however loaded the machine
    settle(bot)
    assert len(slack_api.calls_to("chat.postMessage")) == 1


def test_two_replicas_sharing_one_store_reply_once(
    settings: SlackSettings, engine: FAQEngine, any_db_url: str, slack_api: SlackAPIStub
) -> None:
    settings = replace(settings, database_url=any_db_url)
    stores = [Store(any_db_url), Store(any_db_url)]
    bots = [start_bot(settings, engine, s) for s in stores]
    try:
        events = [mention(f"{MENTION} how much does Part B cost?"), direct_message("Can I cancel Medicare Part B?")]
        for event in events:
            # Slack's first delivery reaches one replica, its retries the other
            for attempt, bot in zip((None, 1, 2), (bots[0], bots[1], bots[0]), strict=True):
                assert bot.send(signed_event(event, retry=attempt)).status_code == 200
        slack_api.wait_calls("chat.postMessage", count=2, timeout=60)
        settle(*bots)
        posts = slack_api.calls_to("chat.postMessage")
        assert len(posts) == 2
        assert {p.params["channel"] for p in posts} == {e["event"]["channel"] for e in events}
    finally:
        for bot in bots:
            stop_bot(bot)
        for store in stores:
            store.close()


def test_a_retry_after_a_restart_is_not_answered_again(
    settings: SlackSettings, engine: FAQEngine, db_url: str, slack_api: SlackAPIStub
) -> None:
    event = mention(f"{MENTION} what are late enrollment penalties?")
    first_store = Store(db_url)
    first = start_bot(settings, engine, first_store)
    first.send(signed_event(event))
    settle(first)
    stop_bot(first)
    first_store.close()

    second_store = Store(db_url)  # a new process: nothing in memory, only the database
    second = start_bot(settings, engine, second_store)
    try:
        assert second.send(signed_event(event, retry=1)).status_code == 200
        second.send(signed_event(mention(f"{MENTION} what is TRICARE?")))
        settle(second)
    finally:
        stop_bot(second)
        second_store.close()
    posts = slack_api.calls_to("chat.postMessage")
    assert len(posts) == 2
    assert "late enrollment" in posts[0].params["text"].lower()
    assert "TRICARE" in posts[1].params["text"]


def test_a_429_from_slack_is_retried_after_retry_after(
    settings: SlackSettings, engine: FAQEngine, store: Store, slack_api: SlackAPIStub
) -> None:
    slack_api.script("chat.postMessage", Scripted(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}))
    bot = start_bot(settings, engine, store)
    try:
        bot.send(signed_event(mention(f"{MENTION} I lost my Medicare card")))
        posts = slack_api.wait_calls("chat.postMessage", count=2)
        settle(bot)
    finally:
        stop_bot(bot)
    limited, delivered = posts
    assert limited.status == 429 and not limited.ok
    assert delivered.ok
    assert delivered.at - limited.at >= 0.9  # waited for Retry-After
    assert limited.params["text"] == delivered.params["text"]
    assert len(slack_api.calls_to("chat.postMessage")) == 2  # one refused, one delivered
