"""``/faq`` on Discord, against the stand-in with the real discord.py client:
suggestions as people type, deferred ephemeral answers, usage help, the
buttons (votes, share, "Did you mean…?") and an interaction that expired."""

from __future__ import annotations

import logging

import pytest

from bot import messages
from bot.discord import render
from bot.features.recording import picks, recorded_questions
from bot.store.database import Store
from faq_core.engine import FAQEngine
from tests.discord.conftest import CALLBACK, FOLLOWUP, ORIGINAL, RunningBot
from tests.stubs import discord_payloads as P
from tests.stubs.discord_api import DiscordCall
from tests.stubs.discord_standin import DiscordStandIn

REPLACEMENT = "How do I get a replacement Medicare card?"


def _command(standin: DiscordStandIn, question: str | None) -> tuple[DiscordCall, DiscordCall]:
    """Send ``/faq question`` and return (the callback, the edit of the deferred response)."""
    callbacks, edits = len(standin.api.calls_to("POST", CALLBACK)), len(standin.api.calls_to("PATCH", ORIGINAL))
    standin.interaction(P.slash_command("faq", {} if question is None else {"question": question}))
    callback = standin.api.wait_calls("POST", CALLBACK, count=callbacks + 1)[callbacks]  # this command's own
    if callback.body["type"] != 5:
        return callback, callback
    edit = standin.api.wait_calls("PATCH", ORIGINAL, count=edits + 1)[edits]
    return callback, edit


def _buttons(body: dict) -> dict[str, str]:
    return {c["custom_id"]: c["label"] for row in body.get("components", []) for c in row["components"]}


def test_faq_defers_then_answers_privately_with_buttons(standin: DiscordStandIn, bot: RunningBot) -> None:
    callback, edit = _command(standin, "I lost my Medicare card, what do I do?")
    assert callback.status == 200 and callback.body["type"] == 5
    assert callback.body["data"]["flags"] & P.EPHEMERAL  # only the asker sees it
    assert edit.status == 200
    [embed] = edit.body["embeds"]
    assert embed["title"] == REPLACEMENT and "% confidence" in embed["description"]
    assert embed["footer"]["text"].startswith("You asked: I lost my Medicare card, what do I do?")
    assert sorted(_buttons(edit.body).values()) == sorted(
        [messages.BUTTON_HELPFUL, messages.BUTTON_NOT_HELPFUL, messages.BUTTON_SHARE])
    assert edit.body["allowed_mentions"] == {"parse": []}
    assert callback.at - standin.api.interactions[callback.route.split("/")[3]].issued < 3.0


def test_autocomplete_suggests_questions_from_memory(standin: DiscordStandIn, bot: RunningBot,
                                                     engine: FAQEngine) -> None:
    standin.interaction(P.slash_command("faq", {"question": "replacement ca"}, focused="question"))
    [call] = standin.api.wait_calls("POST", CALLBACK)
    assert call.status == 200 and call.body["type"] == 8
    choices = call.body["data"]["choices"]
    assert 1 <= len(choices) <= 25
    assert choices[0]["name"] == REPLACEMENT
    standin.interaction(P.slash_command("faq", {"question": ""}, focused="question"))
    calls = standin.api.wait_calls("POST", CALLBACK, count=2)
    assert len(calls[1].body["data"]["choices"]) == min(25, len(engine.index.faqs))


def test_picking_a_suggestion_answers_that_faq(standin: DiscordStandIn, bot: RunningBot, engine: FAQEngine) -> None:
    faq = next(f for f in engine.index.faqs if f.question == REPLACEMENT)
    _callback, edit = _command(standin, f"faq:{faq.id}")
    [embed] = edit.body["embeds"]
    assert embed["title"] == REPLACEMENT and messages.PICKED_HEADER in edit.body["content"]


def test_an_empty_faq_gets_usage_help_at_once(standin: DiscordStandIn, bot: RunningBot, engine: FAQEngine) -> None:
    callback, _ = _command(standin, None)
    assert callback.status == 200 and callback.body["type"] == 4
    assert callback.body["data"]["flags"] & P.EPHEMERAL
    assert "Ask me a question" in callback.body["data"]["content"]
    callback, _ = _command(standin, "  :) ")  # nothing worth asking
    assert callback.body["type"] == 4


def _click(standin: DiscordStandIn, action: str, on: dict, user: str = P.USER_ID) -> DiscordCall:
    [button_id] = [c for c in _buttons(on) if render.parse_custom_id(c) and render.parse_custom_id(c)[0] == action]
    message = {**P.message("", author=P.bot_user()), **on, "flags": on.get("flags", 0)}
    standin.api.remember(message)
    payload = P.button_click(button_id, message)
    payload["member"] = P.member(P.user(user, f"user{user[-2:]}"))
    standin.interaction(payload)
    return standin.api.wait_for(lambda calls: any(c.route.endswith("/callback") and c.body
                                                  and c.body.get("type") == 6 and payload["id"] in c.route
                                                  for c in calls)) and payload


def test_votes_are_stored_once_per_person_and_shown(standin: DiscordStandIn, bot: RunningBot, store: Store) -> None:
    _callback, edit = _command(standin, "I lost my Medicare card, what do I do?")
    answer = {**edit.response, "flags": P.EPHEMERAL}
    _click(standin, render.HELPFUL, answer)
    [update] = standin.api.wait_calls("PATCH", ORIGINAL, count=2)[1:]
    assert update.status == 200
    assert "your vote was recorded: helpful" in update.body["content"]
    assert messages.VOTE_TALLY.format(helpful=1, not_helpful=0) in update.body["content"]
    _click(standin, render.NOT_HELPFUL, answer)  # a change of mind replaces the vote
    update = standin.api.wait_calls("PATCH", ORIGINAL, count=3)[2]
    assert messages.VOTE_TALLY.format(helpful=0, not_helpful=1) in update.body["content"]
    _click(standin, render.HELPFUL, answer, user="1000000000000000399")
    update = standin.api.wait_calls("PATCH", ORIGINAL, count=4)[3]
    assert messages.VOTE_TALLY.format(helpful=1, not_helpful=1) in update.body["content"]
    votes = store.votes()
    assert sorted((v.user_id, v.vote) for v in votes) == [("1000000000000000300", "not_helpful"),
                                                          ("1000000000000000399", "helpful")]
    assert {v.query for v in votes} == {"I lost my Medicare card, what do I do?"}


def test_share_posts_the_answer_publicly_and_removes_the_private_copy(standin: DiscordStandIn,
                                                                      bot: RunningBot) -> None:
    _callback, edit = _command(standin, "I lost my Medicare card, what do I do?")
    _click(standin, render.SHARE, {**edit.response, "flags": P.EPHEMERAL})
    [post] = standin.api.wait_calls("POST", FOLLOWUP)
    assert post.status == 200 and not post.body.get("flags")  # public
    assert post.body["embeds"][0]["title"] == REPLACEMENT
    assert f"<@{P.USER_ID}>" in post.body["content"] and post.body["allowed_mentions"] == {"parse": []}
    assert render.SHARE not in {render.parse_custom_id(c)[0] for c in _buttons(post.body)}  # type: ignore[index]
    [delete] = standin.api.wait_calls("DELETE", ORIGINAL)
    assert delete.status == 204


def test_did_you_mean_buttons_show_the_chosen_faq(standin: DiscordStandIn, bot: RunningBot, store: Store) -> None:
    _callback, edit = _command(standin, "How do I pay my bill?")
    assert "I don't have a good answer to that" in edit.body["embeds"][0]["description"]
    pick_ids = [c for c in _buttons(edit.body) if render.parse_custom_id(c)[0] == render.PICK]  # type: ignore[index]
    assert 1 <= len(pick_ids) <= 3
    _click(standin, render.PICK, {**edit.response, "flags": P.EPHEMERAL})
    [shown] = standin.api.wait_calls("POST", FOLLOWUP)
    assert shown.status == 200 and messages.PICKED_HEADER in shown.body["content"]
    assert shown.body["flags"] & P.EPHEMERAL
    bot.bot.settle()
    # the review loop sees the question (asked on Discord) and the pick that labels it
    [question] = recorded_questions(store)
    assert question.platform == "discord" and question.channel_kind == "command"
    [pick] = picks(store)
    assert pick.answer_id == question.answer_id


def test_an_expired_interaction_is_logged_not_answered(standin: DiscordStandIn, bot: RunningBot,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    standin.api.callback_ttl = 0.0  # Discord's 3 seconds already passed when it reached the bot
    with caplog.at_level(logging.WARNING, logger="bot.discord.client"):
        standin.interaction(P.slash_command("faq", {"question": "How do I replace my card?"}))
        [callback] = standin.api.wait_calls("POST", CALLBACK)
        assert callback.status == 404 and callback.response["code"] == 10062
        standin.api.callback_ttl = 3.0
        # the bot carries on (wait for the second callback: the first is already in the list)
        standin.interaction(P.slash_command("faq", {"question": "still answering?"}))
        _, again = standin.api.wait_calls("POST", CALLBACK, count=2)
        assert again.status == 200
    assert any("expired before it could be acknowledged" in r.getMessage() for r in caplog.records)
    bot.bot.settle()
    assert bot.bot.intake.counts().get("pending", 0) == 0
