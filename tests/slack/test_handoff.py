""""Ask a person": with ``FAQ_HANDOFF`` an unanswered reply carries the
button (in the platform-neutral reply, so every platform can render it);
clicking posts the question with a link to the message that asked it to the
hand-off channel (or, for a user group, in the question's thread mentioning
the group) exactly once, however often it is clicked or delivered, and tells
the clicker where it went. Without the setting, configured text says where
to ask. Through the real bot in HTTP mode against the Slack stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest

from bot.conversation.payloads import AnswerRef
from bot.conversation.replies import HandOffSettings, Kind, answer_reply
from bot.features.handoff import claim_handoff, handoffs
from bot.slack import blocks
from bot.slack.app import workers_of
from bot.slack.handoff import SlackClick, original_message
from bot.slack.settings import SlackSettings
from bot.store.database import Store
from bot.store.intake import Work
from faq_core.engine import FAQEngine
from tests.slack.conftest import RunningBot, start_bot, stop_bot
from tests.stubs.slack_api import BOT_USER_ID, Call, SlackAPIStub
from tests.stubs.slack_payloads import (
    CHANNEL,
    USER,
    button_click,
    buttons,
    direct_message,
    mention,
    signed_action,
    signed_event,
    signed_form,
    slash_command,
)

HELP_DESK = "C0HELPDESK"
SUPPORT_GROUP = "S0SUPPORT1"
UNANSWERABLE = "What's the wifi password in the Berlin office?"
MENTION = f"<@{BOT_USER_ID}>"


def _bot(settings: SlackSettings, engine: FAQEngine, store: Store, **changes: object) -> Iterator[RunningBot]:
    running = start_bot(replace(settings, **changes), engine, store)  # type: ignore[arg-type]
    yield running
    stop_bot(running)


@pytest.fixture()
def handoff_bot(settings: SlackSettings, engine: FAQEngine, store: Store) -> Iterator[RunningBot]:
    yield from _bot(settings, engine, store, faq_handoff=HELP_DESK)


def posts_to(slack_api: SlackAPIStub, channel: str) -> list[Call]:
    return [c for c in slack_api.calls_to("chat.postMessage") if c.params.get("channel") == channel and c.ok]


def ask(bot: RunningBot, slack_api: SlackAPIStub, text: str = UNANSWERABLE) -> tuple[dict, Call]:
    event = mention(f"{MENTION} {text}")
    bot.send(signed_event(event))
    [reply] = [c for c in slack_api.wait_calls("chat.postMessage") if c.params["channel"] == CHANNEL]
    bot.settle()
    return event, reply


def test_the_neutral_reply_offers_a_person_only_when_it_cannot_answer(engine: FAQEngine) -> None:
    settings = HandOffSettings(target=HELP_DESK)
    miss = engine.answer(UNANSWERABLE)
    content = answer_reply(miss, AnswerRef.from_answer(miss), handoff=settings)
    assert content.kind is Kind.NO_MATCH and content.handoff is not None
    assert content.handoff.target == HELP_DESK and AnswerRef.decode(content.handoff.value).query == miss.query
    hit = engine.answer(engine.index.faqs[0].question)
    assert answer_reply(hit, AnswerRef.from_answer(hit), handoff=settings).handoff is None
    plain = answer_reply(miss, AnswerRef.from_answer(miss), handoff=HandOffSettings(text="Ask in #help."))
    assert plain.handoff is None and plain.ask_instead == "Ask in #help."


def test_ask_a_person_posts_the_question_with_its_link_once_and_tells_the_asker(
        handoff_bot: RunningBot, slack_api: SlackAPIStub, store: Store) -> None:
    event, reply = ask(handoff_bot, slack_api)
    shown = json.dumps(reply.params["blocks"])
    assert "Ask a person" in shown and f"<#{HELP_DESK}>" in shown and "ask a colleague" not in shown
    button = buttons(reply.params["blocks"])[blocks.HANDOFF]
    click = button_click(button, response_url=slack_api.response_url("h1"), message=reply.response["message"])
    for _ in range(2):  # a click delivered twice (same trigger_id)
        assert handoff_bot.send(signed_action(click)).status_code == 200
    again = button_click(button, response_url=slack_api.response_url("h2"), message=reply.response["message"])
    slack_api.wait_for(lambda calls: any(c.path.endswith("/h1") for c in calls))
    handoff_bot.settle()
    assert handoff_bot.send(signed_action(again)).status_code == 200  # a second click
    slack_api.wait_for(lambda calls: any(c.path.endswith("/h2") for c in calls))
    handoff_bot.settle()

    [post] = posts_to(slack_api, HELP_DESK)
    ts = event["event"]["ts"]
    [link] = [c for c in slack_api.calls_to("chat.getPermalink") if c.ok]
    assert (link.params["channel"], link.params["message_ts"]) == (CHANNEL, ts)
    text = post.params["text"]
    assert "wifi password in the Berlin office" in text and f"<@{USER}>" in text
    assert f"archives/{CHANNEL}/p{ts.replace('.', '')}" in text
    told = {c.path.rsplit("/", 1)[1]: c.params["text"] for c in slack_api.calls_to("response_url")}
    assert told["h1"].startswith("I've passed your question to") and f"<#{HELP_DESK}>" in told["h1"]
    assert "already passed" in told["h2"]
    [row] = handoffs(store)
    assert row.target == HELP_DESK and row.posted_ts == post.response["ts"]


def test_a_user_group_is_mentioned_in_the_questions_thread(settings: SlackSettings, engine: FAQEngine, store: Store,
                                                           slack_api: SlackAPIStub) -> None:
    for running in _bot(settings, engine, store, faq_handoff=SUPPORT_GROUP):
        event, reply = ask(running, slack_api)
        button = buttons(reply.params["blocks"])[blocks.HANDOFF]
        running.send(signed_action(button_click(button, response_url=slack_api.response_url("g"),
                                                message=reply.response["message"])))
        slack_api.wait_for(lambda calls: any(c.path.endswith("/g") for c in calls))
        running.settle()
    posts = posts_to(slack_api, CHANNEL)
    assert len(posts) == 2  # the answer, then the hand-off in its thread
    handed = posts[1]
    assert handed.params["thread_ts"] == event["event"]["ts"]
    assert handed.params["text"].startswith(f"<!subteam^{SUPPORT_GROUP}>")


def test_a_slash_command_is_handed_off_without_a_link(handoff_bot: RunningBot, slack_api: SlackAPIStub) -> None:
    handoff_bot.send(signed_form(slash_command(UNANSWERABLE, slack_api.response_url("cmd"))))
    [answer] = slack_api.wait_calls("response_url")
    handoff_bot.settle()
    button = buttons(answer.params["blocks"])[blocks.HANDOFF]
    handoff_bot.send(signed_action(button_click(button, response_url=slack_api.response_url("cmd2"),
                                                ephemeral=True)))
    slack_api.wait_for(lambda calls: any(c.path.endswith("/cmd2") for c in calls))
    handoff_bot.settle()
    [post] = posts_to(slack_api, HELP_DESK)
    assert "asked with /faq" in post.params["text"] and UNANSWERABLE.split("?")[0][:20] in post.params["text"]
    assert slack_api.calls_to("chat.getPermalink") == []


def test_a_retried_hand_off_finds_its_earlier_post(handoff_bot: RunningBot, slack_api: SlackAPIStub,
                                                   store: Store) -> None:
    """A worker that posted and then crashed before finishing: the row is worked
    again (same intake key) and must not post a second time."""
    _event, reply = ask(handoff_bot, slack_api)
    button = buttons(reply.params["blocks"])[blocks.HANDOFF]
    body = button_click(button, response_url=slack_api.response_url("r"), message=reply.response["message"])
    handlers_run = workers_of(handoff_bot.server.app).run
    work = Work(id=1, key="action:retried", kind="handoff", payload={"body": body}, attempts=1, received_at=0.0)
    handlers_run(work)
    handlers_run(replace(work, attempts=2))
    assert len(posts_to(slack_api, HELP_DESK)) == 1
    assert len(handoffs(store)) == 1


def test_a_claim_is_the_first_clicks_and_its_retries(store: Store) -> None:
    first = claim_handoff(store, answer_id="a1", work_key="action:1", target=HELP_DESK, requested_by="U1")
    retry = claim_handoff(store, answer_id="a1", work_key="action:1", target=HELP_DESK, requested_by="U1")
    other = claim_handoff(store, answer_id="a1", work_key="action:2", target="C0ELSEWHERE", requested_by="U2")
    assert (first.mine, retry.mine, other.mine) == (True, True, False)
    assert other.target == HELP_DESK  # where it really went


def test_the_original_message_comes_from_the_question_key_or_the_thread() -> None:
    assert original_message("message:C1:123.456", {}) == ("C1", "123.456")
    assert original_message("command:77.88.trigger", {"message": {"ts": "1.2"}}) is None
    body = {"container": {"channel_id": "C2"}, "message": {"ts": "9.9", "thread_ts": "5.5"}}
    assert original_message(None, body) == ("C2", "5.5")
    assert original_message(None, {}) is None
    assert SlackClick.where(SUPPORT_GROUP).startswith(f"<!subteam^{SUPPORT_GROUP}>")


@pytest.mark.parametrize(("text", "expected"), [("Ask in <#C0HELP|help-desk>.", "Ask in <#C0HELP|help-desk>."),
                                                (None, "ask a colleague")])
def test_without_a_hand_off_the_reply_says_where_to_ask_only_if_told(
        settings: SlackSettings, engine: FAQEngine, store: Store, slack_api: SlackAPIStub, text: str | None,
        expected: str) -> None:
    for running in _bot(settings, engine, store, faq_handoff_text=text):
        running.send(signed_event(direct_message(UNANSWERABLE)))
        [reply] = slack_api.wait_calls("chat.postMessage")
        running.settle()
    shown = json.dumps(reply.params["blocks"])
    assert expected in shown and "Ask a person" not in shown and blocks.HANDOFF not in shown


def test_a_user_group_cannot_be_brought_into_a_dm(settings: SlackSettings, engine: FAQEngine, store: Store,
                                                  slack_api: SlackAPIStub) -> None:
    for running in _bot(settings, engine, store, faq_handoff=SUPPORT_GROUP):
        running.send(signed_event(direct_message(UNANSWERABLE)))
        [reply] = slack_api.wait_calls("chat.postMessage")
        running.settle()
        button = buttons(reply.params["blocks"])[blocks.HANDOFF]
        running.send(signed_action(button_click(button, response_url=slack_api.response_url("dm"),
                                                channel=reply.params["channel"], message=reply.response["message"])))
        slack_api.wait_for(lambda calls: any(c.path.endswith("/dm") for c in calls))
        running.settle()
    assert len(slack_api.calls_to("chat.postMessage")) == 1  # the answer only
    [told] = [c for c in slack_api.calls_to("response_url") if c.path.endswith("/dm")]
    assert "in a channel" in told.params["text"] and handoffs(store) == []
