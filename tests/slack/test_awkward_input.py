"""Whatever people type, they get a sensible reply that Slack accepts, never
an exception: empty mentions, emoji only, very long text, code blocks,
mentions of other people, links, and other languages."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import replace

import pytest

from bot import messages
from bot.conversation.payloads import AnswerRef
from bot.slack.blocks import answer_reply
from bot.slack.text import question_from
from faq_core.embedders import LocalEmbedder
from faq_core.engine import FAQEngine
from faq_core.faqs import FAQ
from faq_core.index import build_index
from faq_core.threshold import with_auto_threshold
from tests.slack.conftest import RunningBot
from tests.stubs.slack_api import BOT_USER_ID, Scripted, SlackAPIStub, block_errors
from tests.stubs.slack_payloads import direct_message, mention, signed_event, signed_form, slash_command

MENTION = f"<@{BOT_USER_ID}>"
LONG = "I lost my Medicare card and " + "I really need to know what to do next, please help. " * 80
CODE = "how do I sign up for Medicare?\n```\ncurl -X POST https://example.com/enroll\n```"


def _shown(call: object) -> str:
    return json.dumps(call.params.get("blocks"), ensure_ascii=False)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        (MENTION, "usage"),
        (f"{MENTION}   ", "usage"),
        (f"{MENTION} :wave: :thinking_face::skin-tone-2: 🤔👍", "usage"),
        (f"{MENTION} ???", "usage"),
        (f"{MENTION} {LONG}", "truncated"),
        (f"{MENTION} {CODE}", "How do I sign up for Medicare?"),
        (f"{MENTION} can <@U0OTHER01> get a replacement card? cc <@U0THIRD01|carol>", "replacement"),
        (f"{MENTION} see <https://www.medicare.gov/card|this page> &amp; <#C0HELP001|help>: lost card?",
         "replacement"),
        (f"{MENTION} ¿Cuánto cuesta la Parte B de Medicare cada mes?", "reply"),
        (f"{MENTION} メディケアのカードをなくしました", "reply"),
        (f"{MENTION} <!here> 10:30 meeting about Part B premiums", "reply"),
    ],
    ids=["only-mention", "mention-and-spaces", "only-emoji", "only-punctuation", "4000-chars", "code-block",
         "other-users", "links-and-channels", "spanish", "japanese", "here-and-time"],
)
def test_awkward_mentions_get_a_sensible_reply(
    bot: RunningBot, slack_api: SlackAPIStub, engine: FAQEngine, text: str, expect: str
) -> None:
    assert bot.send(signed_event(mention(text))).status_code == 200
    [post] = slack_api.wait_calls("chat.postMessage")
    assert post.ok, post.response  # Slack accepted blocks and text
    shown = _shown(post)
    if expect == "usage":
        assert post.params["text"] == messages.USAGE_FALLBACK.format(example=engine.info.example)
        assert "Ask me a question" in shown
    elif expect == "truncated":
        assert "I only read the first 2,000 characters of your question." in shown
        assert "How do I get a replacement Medicare card?" in shown
    elif expect == "reply":
        assert "You asked:" in shown and ("% confidence" in shown or "I don't have a good answer" in shown)
    else:
        assert expect in shown
    assert "<@U0OTHER01>" not in shown  # nobody else gets pinged by the bot's echo of the question
    assert "<!here>" not in shown


def test_other_users_mentions_are_read_by_their_names(bot: RunningBot, slack_api: SlackAPIStub) -> None:
    # Slack sends <@U0OTHER01> without a name: users.info gives "dave" (display name) and, for a
    # user without one, the real name; an unknown user stays an id. Nobody is pinged.
    bot.send(signed_event(mention(f"{MENTION} can <@U0OTHER01> and <@U0THIRD01> get a replacement card?")))
    [post] = slack_api.wait_calls("chat.postMessage")
    assert "You asked: _can @dave and @Carol Jones get a replacement card?_" in _shown(post)
    bot.send(signed_event(mention(f"{MENTION} does <@U0OTHER01> or <@U0NOBODY1> know about Part B?")))
    posts = slack_api.wait_calls("chat.postMessage", count=2)
    assert "You asked: _does @dave or @U0NOBODY1 know about Part B?_" in _shown(posts[1])
    looked_up = [c.params.get("user") for c in slack_api.calls_to("users.info")]
    assert sorted(looked_up) == ["U0NOBODY1", "U0OTHER01", "U0THIRD01"]  # dave was asked about once


def test_without_the_users_read_scope_mentions_fall_back_to_ids(
    bot: RunningBot, slack_api: SlackAPIStub, caplog: pytest.LogCaptureFixture
) -> None:
    denied = Scripted(200, {"ok": False, "error": "missing_scope", "needed": "users:read"})
    slack_api.script("users.info", denied, denied)
    with caplog.at_level(logging.WARNING, logger="bot.slack.web_api"):
        bot.send(signed_event(mention(f"{MENTION} can <@U0OTHER01> and <@U0THIRD01> get a replacement card?")))
        [post] = slack_api.wait_calls("chat.postMessage")
    assert post.ok and "You asked: _can @U0OTHER01 and @U0THIRD01 get a replacement card?_" in _shown(post)
    warnings = [r.getMessage() for r in caplog.records if r.name == "bot.slack.web_api"]
    assert len(warnings) == 1 and "users:read" in warnings[0]  # said once, with what to do


def test_awkward_dms_and_commands_get_sensible_replies(
    bot: RunningBot, slack_api: SlackAPIStub, engine: FAQEngine
) -> None:
    bot.send(signed_event(direct_message(":sweat_smile:")))
    bot.send(signed_event(direct_message(LONG)))
    bot.send(signed_form(slash_command(CODE, slack_api.response_url("code"))))
    posts = slack_api.wait_calls("chat.postMessage", count=2)
    [command_reply] = slack_api.wait_calls("response_url")
    texts = sorted(p.params["text"] for p in posts)
    assert all(p.ok for p in posts) and command_reply.ok
    assert messages.USAGE_FALLBACK.format(example=engine.info.example) in texts
    assert "How do I sign up for Medicare?" in _shown(command_reply)


def test_question_text_is_made_readable() -> None:
    assert question_from(f"{MENTION} hi", BOT_USER_ID) == "hi"
    assert question_from(f"<@{BOT_USER_ID}|faqbot> hi", BOT_USER_ID) == "hi"
    assert question_from("ask <@U123> and <#C1|general>", BOT_USER_ID) == "ask @U123 and #general"
    assert question_from("<https://a.example/x|docs> or <https://b.example>", None) == "docs or https://b.example"
    assert question_from("<mailto:a@b.example|a@b.example> &lt;tag&gt; &amp;", None) == "a@b.example <tag> &"
    assert question_from("`inline` and ```block```", None) == "inline and block"
    assert question_from("meet at 10:30:45 :smile:", None) == "meet at 10:30:45"
    assert question_from(":+1::skin-tone-3:", None) == ""
    assert question_from("<!subteam^S1|@oncall> help", None) == "@oncall help"
    assert question_from(None, BOT_USER_ID) == ""
    assert question_from("Ünïcödé 質問", None) == "Ünïcödé 質問"


def test_faqs_with_huge_texts_still_render_within_slack_limits(local_embedder: LocalEmbedder) -> None:
    faqs = [
        FAQ(id="huge", question="How do I file a very long claim? " + "Details. " * 60,
            answer="Step. " * 1500, url="https://example.com/" + "a" * 300),
        FAQ(id="short", question="What is a claim?", answer="A request for payment."),
    ]
    engine = FAQEngine(with_auto_threshold(build_index(faqs, local_embedder)), local_embedder, min_score=0.0)
    answer = engine.answer("how do I file a long claim " * 200)
    reply = answer_reply(answer, AnswerRef.from_answer(answer), shareable=True)
    assert block_errors(reply.blocks) == []
    assert len(reply.blocks) <= 50
    no_match = FAQEngine(engine.index, local_embedder, min_score=0.99).answer("claims " * 300)
    reply = answer_reply(no_match, AnswerRef.from_answer(no_match))
    assert block_errors(reply.blocks) == []
    for block in reply.blocks:
        for element in block.get("elements", []):
            if element.get("type") == "button":
                assert len(element["text"]["text"]) <= 75 and len(element["value"]) <= 2000


def test_a_button_value_always_fits_even_when_the_matches_alone_do_not() -> None:
    matches = tuple((f"faq-{i:03d}-" + "x" * 120, 0.5 - i / 100) for i in range(20))  # ids of 128 characters
    ref = AnswerRef(answer_id="a" * 16, query="Where is my card? " * 200, matches=matches, answered=True,
                    threshold=0.43, truncated=True)
    encoded: list[str] = []
    worker = threading.Thread(target=lambda: encoded.append(ref.encode()), daemon=True)
    worker.start()
    worker.join(timeout=60)  # the old loop never ended here: fail instead of hanging the suite
    assert encoded, "AnswerRef.encode did not return"
    value = encoded[0]
    assert len(value) <= 2000
    back = AnswerRef.decode(value)
    assert back.answer_id == ref.answer_id and back.faq_id == matches[0][0] and back.truncated
    assert back.query == "…"  # the question goes first, then trailing matches
    assert back.matches == matches[: len(back.matches)] and 1 <= len(back.matches) < len(matches)
    picked = replace(ref, pick=matches[5][0]).encode()
    assert len(picked) <= 2000 and AnswerRef.decode(picked).pick == matches[5][0]


def test_a_question_alone_too_long_is_shortened_and_the_matches_kept() -> None:
    matches = (("card", 0.81), ("sign-up", 0.52))
    ref = AnswerRef(answer_id="b" * 16, query="é" * 5000, matches=matches, answered=True, threshold=0.43)
    back = AnswerRef.decode(ref.encode())
    assert back.matches == matches
    assert back.query.endswith("…") and 1500 < len(back.query) < 2000
