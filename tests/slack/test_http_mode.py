"""The bot in HTTP mode, end to end: signed requests into its server, replies
observed at the Slack Web API stand-in.

Each test reads as one behaviour of the bot: where a reply goes (thread,
DM, ephemeral or public), what it shows (answer, source, score as a
percentage and the raw cosine, or an honest "no good answer"), what each
button does, and that unsigned or stale requests are refused.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import requests

from bot import messages
from bot.slack import blocks
from bot.slack.app import settle
from bot.store.database import Store
from faq_core.engine import FAQEngine
from tests.slack.conftest import RunningBot
from tests.stubs.slack_api import BOT_USER_ID, Call, SlackAPIStub
from tests.stubs.slack_payloads import (
    CHANNEL,
    DM_CHANNEL,
    USER,
    button_click,
    buttons,
    direct_message,
    home_opened,
    mention,
    sign,
    signed_action,
    signed_event,
    signed_form,
    slash_command,
)

MENTION = f"<@{BOT_USER_ID}>"


def block_text(call_or_blocks: Call | list[dict]) -> str:
    """All text in a message's blocks, button labels included."""
    blocks_ = call_or_blocks.params["blocks"] if isinstance(call_or_blocks, Call) else call_or_blocks
    return json.dumps(blocks_, ensure_ascii=False)


def test_mention_is_answered_in_a_new_thread_with_answer_source_and_score(
    bot: RunningBot, slack_api: SlackAPIStub
) -> None:
    event = mention(f"{MENTION} I lost my Medicare card, what do I do?")
    response = bot.send(signed_event(event))
    assert response.status_code == 200

    [post] = slack_api.wait_calls("chat.postMessage")
    assert post.ok, post.response
    assert post.headers["authorization"] == f"Bearer {slack_api.bot_token}"
    assert post.params["channel"] == CHANNEL
    assert post.params["thread_ts"] == event["event"]["ts"]  # starts a thread under the mention
    shown = block_text(post)
    assert "How do I get a replacement Medicare card?" in shown
    assert "Sign in to your Medicare.gov account" in shown
    assert "<https://www.medicare.gov/|Source>" in shown
    assert re.search(r"[5-9]\d% confidence", shown)  # one readable number beside the FAQ
    assert "cosine 0." in shown and ", automatic)" in shown  # details: raw cosine, where the threshold came from
    assert "Other close FAQs:" in shown
    # the fallback text carries the answer and the score for notifications
    assert "How do I get a replacement Medicare card?" in post.params["text"]
    assert "% confidence" in post.params["text"]
    assert set(buttons(post.params["blocks"])) == {blocks.HELPFUL, blocks.NOT_HELPFUL}


def test_mention_inside_a_thread_is_answered_in_that_thread(bot: RunningBot, slack_api: SlackAPIStub) -> None:
    event = mention(f"{MENTION} how much does Part B cost each month?", thread_ts="1690000000.000001")
    bot.send(signed_event(event))
    [post] = slack_api.wait_calls("chat.postMessage")
    assert post.params["thread_ts"] == "1690000000.000001"
    assert "What is the monthly premium for Medicare Part B?" in block_text(post)


def test_question_without_a_good_match_is_not_presented_as_an_answer(
    bot: RunningBot, slack_api: SlackAPIStub
) -> None:
    bot.send(signed_event(mention(f"{MENTION} What's the capital of France?")))
    [post] = slack_api.wait_calls("chat.postMessage")
    assert post.ok, post.response
    shown = block_text(post)
    assert "I don't have a good answer to that" in shown
    # no FAQ answer text is shown, and nothing is suggested: no FAQ reaches the suggestion floor
    assert "Sign in to your Medicare.gov account" not in shown
    assert "Did you mean" not in shown and "%" not in shown
    assert not [a for a in buttons(post.params["blocks"]) if a.startswith(blocks.PICK_PREFIX)]
    assert blocks.HELPFUL not in buttons(post.params["blocks"])
    assert post.params["text"] == messages.NO_MATCH_FALLBACK


def test_did_you_mean_button_posts_that_faq_in_the_thread(bot: RunningBot, slack_api: SlackAPIStub) -> None:
    event = mention(f"{MENTION} How do I pay my bill?")
    bot.send(signed_event(event))
    [post] = slack_api.wait_calls("chat.postMessage")
    shown = block_text(post)
    assert "I don't have a good answer to that" in shown and "Did you mean" in shown
    suggestion_buttons = [a for a in buttons(post.params["blocks"]) if a.startswith(blocks.PICK_PREFIX)]
    assert 1 <= len(suggestion_buttons) <= 3
    message = post.response["message"]
    pick = buttons(post.params["blocks"])[f"{blocks.PICK_PREFIX}0"]
    picked_question = pick["text"]["text"]

    click = button_click(pick, response_url=slack_api.response_url("pick"), message=message)
    assert bot.send(signed_action(click)).status_code == 200

    posts = slack_api.wait_calls("chat.postMessage", count=2)
    chosen = posts[1]
    assert chosen.ok, chosen.response
    assert chosen.params["thread_ts"] == event["event"]["ts"]
    shown = block_text(chosen)
    assert messages.PICKED_HEADER in shown
    assert picked_question.rstrip("…") in shown
    assert "% confidence" in shown
    assert set(buttons(chosen.params["blocks"])) == {blocks.HELPFUL, blocks.NOT_HELPFUL}
    assert slack_api.calls_to("chat.update") == []  # the original reply is left as it was


def test_direct_message_is_answered_in_the_dm_without_a_mention(bot: RunningBot, slack_api: SlackAPIStub) -> None:
    bot.send(signed_event(direct_message("How do I apply for Medicare?")))
    [post] = slack_api.wait_calls("chat.postMessage")
    assert post.params["channel"] == DM_CHANNEL
    assert post.params.get("thread_ts") is None
    assert "How do I sign up for Medicare?" in block_text(post)


def test_bot_messages_edits_deletions_and_own_messages_are_ignored(
    bot: RunningBot, slack_api: SlackAPIStub
) -> None:
    ignored = [
        direct_message("How do I apply for Medicare?", subtype="message_changed",
                       extra={"message": {"text": "edited"}}),
        direct_message("", subtype="message_deleted"),
        direct_message("How do I apply for Medicare?", subtype="bot_message", bot_id="BOTHER1"),
        direct_message("How do I apply for Medicare?", bot_id="BOTHER1"),
        direct_message("How do I apply for Medicare?", user=BOT_USER_ID, bot_id=slack_api.bot_id),
    ]
    for event in ignored:
        assert bot.send(signed_event(event)).status_code == 200
    # a real DM afterwards is answered, and it is the only reply
    bot.send(signed_event(direct_message("How do I apply for Medicare?")))
    slack_api.wait_calls("chat.postMessage")
    settle(bot.server.app)  # let any stray work finish
    assert len(slack_api.calls_to("chat.postMessage")) == 1


def test_mention_in_a_dm_is_answered_once_not_twice(bot: RunningBot, slack_api: SlackAPIStub) -> None:
    dm = direct_message(f"{MENTION} how do I get a replacement card?")
    ts = dm["event"]["ts"]
    as_mention = mention(f"{MENTION} how do I get a replacement card?", channel=DM_CHANNEL, ts=ts)
    assert bot.send(signed_event(dm)).status_code == 200
    assert bot.send(signed_event(as_mention)).status_code == 200
    slack_api.wait_calls("chat.postMessage")
    settle(bot.server.app)
    assert len(slack_api.calls_to("chat.postMessage")) == 1


def test_slash_command_answers_ephemerally_and_share_posts_publicly(
    bot: RunningBot, slack_api: SlackAPIStub
) -> None:
    command = slash_command("how much does part b cost", slack_api.response_url("cmd"))
    response = bot.send(signed_form(command))
    assert response.status_code == 200
    assert response.text == ""  # acknowledged at once, answer follows via response_url

    [reply] = slack_api.wait_calls("response_url")
    assert reply.ok
    assert reply.path == "/response/cmd"
    assert reply.params["response_type"] == "ephemeral"
    shown = block_text(reply)
    assert "What is the monthly premium for Medicare Part B?" in shown
    assert "% confidence" in shown and "cosine" in shown
    share = buttons(reply.params["blocks"])[blocks.SHARE]

    click = button_click(share, response_url=slack_api.response_url("share"), ephemeral=True)
    bot.send(signed_action(click))
    calls = slack_api.wait_calls("response_url", count=3)
    # the stand-in records a call when its handler finishes: find the two by content, not arrival order
    [public] = [c for c in calls[1:] if "delete_original" not in c.params]
    [delete] = [c for c in calls[1:] if "delete_original" in c.params]
    assert public.path == delete.path == "/response/share"
    assert public.params["response_type"] == "in_channel"
    assert "What is the monthly premium for Medicare Part B?" in block_text(public)
    assert f"Shared by <@{USER}>" in block_text(public)
    assert blocks.SHARE not in buttons(public.params["blocks"])
    assert delete.params == {"delete_original": True}
    assert slack_api.calls_to("chat.postMessage") == []  # the bot needs no channel membership to share


def test_slash_command_without_text_gets_usage_help_in_the_ack(bot: RunningBot, slack_api: SlackAPIStub) -> None:
    response = bot.send(signed_form(slash_command("   ", slack_api.response_url("empty"))))
    assert response.status_code == 200
    body = response.json()
    assert body["response_type"] == "ephemeral"
    assert "/faq" in body["text"]
    assert "Ask me a question" in json.dumps(body["blocks"])
    assert slack_api.calls_to("response_url", "chat.postMessage") == []


def test_feedback_buttons_record_one_vote_per_user_and_update_the_message(
    bot: RunningBot, slack_api: SlackAPIStub, store: Store, engine: FAQEngine
) -> None:
    bot.send(signed_event(mention(f"{MENTION} I lost my Medicare card")))
    [post] = slack_api.wait_calls("chat.postMessage")
    message = post.response["message"]
    found = buttons(post.params["blocks"])

    def click(action_id: str, user: str) -> Call:
        before = len(slack_api.calls_to("chat.update"))
        payload = button_click(found[action_id], response_url=slack_api.response_url("vote"), user=user,
                               message=message)
        assert bot.send(signed_action(payload)).status_code == 200
        return slack_api.wait_calls("chat.update", count=before + 1)[-1]

    update = click(blocks.HELPFUL, "UALICE01")
    assert update.ok, update.response
    assert update.params["channel"] == CHANNEL and update.params["ts"] == message["ts"]
    shown = block_text(update)
    assert "Thanks <@UALICE01>, your vote was recorded: helpful." in shown
    assert "1 helpful · 0 not helpful" in shown
    assert "How do I get a replacement Medicare card?" in shown  # the answer stays

    update = click(blocks.HELPFUL, "UALICE01")  # same vote again: still one vote
    assert "1 helpful · 0 not helpful" in block_text(update)
    update = click(blocks.NOT_HELPFUL, "UALICE01")  # a change of mind replaces it
    assert "changed their vote to not helpful" in block_text(update)
    assert "0 helpful · 1 not helpful" in block_text(update)
    update = click(blocks.HELPFUL, "UBOB0001")
    assert "1 helpful · 1 not helpful" in block_text(update)

    votes = store.votes()
    assert [(v.user_id, v.vote) for v in votes] == [("UALICE01", "not_helpful"), ("UBOB0001", "helpful")]
    alice = votes[0]
    assert alice.faq_id == "replacement-card"
    assert alice.query == "I lost my Medicare card"
    assert alice.channel_id == CHANNEL
    assert alice.score is not None and alice.score >= engine.threshold  # the readable score that decided
    assert alice.voted_at is not None


def test_vote_on_an_ephemeral_answer_replaces_it_through_response_url(
    bot: RunningBot, slack_api: SlackAPIStub, store: Store
) -> None:
    bot.send(signed_form(slash_command("how do I sign up for medicare", slack_api.response_url("cmd"))))
    [reply] = slack_api.wait_calls("response_url")
    helpful = buttons(reply.params["blocks"])[blocks.NOT_HELPFUL]
    bot.send(signed_action(button_click(helpful, response_url=slack_api.response_url("v"), ephemeral=True)))
    update = slack_api.wait_calls("response_url", count=2)[1]
    assert update.params["replace_original"] is True
    assert update.params["response_type"] == "ephemeral"
    assert "your vote was recorded: not helpful" in block_text(update)
    assert blocks.SHARE in buttons(update.params["blocks"])  # still shareable
    assert [v.vote for v in store.votes()] == ["not_helpful"]


def test_app_home_shows_what_the_bot_does_and_which_index(bot: RunningBot, slack_api: SlackAPIStub) -> None:
    bot.send(signed_event(home_opened()))
    [publish] = slack_api.wait_calls("views.publish")
    assert publish.ok, publish.response
    assert publish.params["user_id"] == USER
    view = publish.params["view"]
    assert view["type"] == "home"
    shown = json.dumps(view)
    info = bot.server.engine.info
    assert "How to ask" in shown and "/faq" in shown
    assert f"FAQ index: `{Path(info.source).name}`" in shown and info.source not in shown  # no server path
    assert f"FAQs: {info.faq_count} ({info.phrasing_count} phrasings)" in shown
    assert "sentence-transformers/all-MiniLM-L6-v2" in shown


def test_bad_signature_and_stale_timestamp_get_401_and_no_reply(bot: RunningBot, slack_api: SlackAPIStub) -> None:
    body = json.dumps(mention(f"{MENTION} I lost my Medicare card"))
    wrong_secret = sign(body, secret="0123456789abcdef0123456789abcdef")
    stale = sign(body, timestamp=int(time.time()) - 10 * 60)
    tampered = sign(body)
    tampered = type(tampered)(body=body.replace("card", "cart").encode(), headers=tampered.headers)
    unsigned = requests.post(bot.url + "/slack/events", data=body, timeout=10,
                             headers={"Content-Type": "application/json"})
    for request in (wrong_secret, stale, tampered):
        assert bot.send(request).status_code == 401
    assert unsigned.status_code == 401
    # a valid request afterwards goes through, and it is the only reply
    bot.send(signed_event(mention(f"{MENTION} how do I sign up for Medicare")))
    slack_api.wait_calls("chat.postMessage")
    settle(bot.server.app)
    assert len(slack_api.calls_to("chat.postMessage")) == 1


def test_url_verification_health_and_unknown_paths(bot: RunningBot) -> None:
    challenge = {"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                 "type": "url_verification"}
    response = bot.send(signed_event(challenge))
    assert response.status_code == 200
    assert response.json() == {"challenge": challenge["challenge"]}

    health = requests.get(bot.url + "/healthz", timeout=10)
    assert health.status_code == 200
    assert health.json()["ok"] is True and health.json()["faqs"] == 13
    assert requests.get(bot.url + "/nope", timeout=10).status_code == 404
    assert requests.post(bot.url + "/nope", data=b"{}", timeout=10).status_code == 404


def test_vote_on_a_shared_answer_falls_back_to_response_url_when_chat_update_cannot(
    bot: RunningBot, slack_api: SlackAPIStub, store: Store
) -> None:
    bot.send(signed_form(slash_command("what is tricare", slack_api.response_url("cmd"))))
    [reply] = slack_api.wait_calls("response_url")
    share = buttons(reply.params["blocks"])[blocks.SHARE]
    bot.send(signed_action(button_click(share, response_url=slack_api.response_url("share"), ephemeral=True)))
    [public] = [c for c in slack_api.wait_calls("response_url", count=3)[1:] if "delete_original" not in c.params]

    # the shared copy was posted through response_url: the bot's chat.update does not know it
    vote = buttons(public.params["blocks"])[blocks.HELPFUL]
    click = button_click(vote, response_url=slack_api.response_url("shared-vote"), user="UCAROL01",
                         message={"ts": "1690000099.000001", "text": public.params["text"]})
    bot.send(signed_action(click))
    [refused] = slack_api.wait_calls("chat.update")
    assert refused.response["error"] == "message_not_found"
    [update] = [c for c in slack_api.wait_calls("response_url", count=4) if c.path == "/response/shared-vote"]
    assert update.params["replace_original"] is True and update.params["response_type"] == "in_channel"
    assert "Thanks <@UCAROL01>, your vote was recorded: helpful." in block_text(update)
    assert [(v.user_id, v.faq_id) for v in store.votes()] == [("UCAROL01", "tricare")]


def test_a_dm_with_a_file_attached_is_answered(bot: RunningBot, slack_api: SlackAPIStub) -> None:
    bot.send(signed_event(direct_message("what is TRICARE? (screenshot attached)", subtype="file_share")))
    [post] = slack_api.wait_calls("chat.postMessage")
    assert "TRICARE" in post.params["text"]


def test_did_you_mean_on_a_private_answer_replaces_it_with_that_faq(
    bot: RunningBot, slack_api: SlackAPIStub
) -> None:
    bot.send(signed_form(slash_command("Is Medicare the same as Medicaid?", slack_api.response_url("cmd"))))
    [reply] = slack_api.wait_calls("response_url")
    # near-tied top two: "one of these?" with both FAQs and a button each, not one picked confidently
    assert messages.AMBIGUOUS in block_text(reply)
    assert reply.params["text"].startswith("One of these?")
    assert blocks.SHARE not in buttons(reply.params["blocks"])  # nothing to share: it is not an answer
    assert blocks.HELPFUL not in buttons(reply.params["blocks"])
    pick = buttons(reply.params["blocks"])[f"{blocks.PICK_PREFIX}1"]
    bot.send(signed_action(button_click(pick, response_url=slack_api.response_url("pick"), ephemeral=True)))
    chosen = slack_api.wait_calls("response_url", count=2)[1]
    assert chosen.params["replace_original"] is True and chosen.params["response_type"] == "ephemeral"
    assert messages.PICKED_HEADER in block_text(chosen)
    assert pick["text"]["text"].removeprefix("This one: ").rstrip("…") in block_text(chosen)
    assert {blocks.HELPFUL, blocks.NOT_HELPFUL, blocks.SHARE} == set(buttons(chosen.params["blocks"]))
    assert slack_api.calls_to("chat.postMessage") == []
