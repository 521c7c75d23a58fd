"""The Discord renderer and autocomplete, without a network: every reply fits
Discord's limits (checked by the stand-in's own rules), button ids fit 100
characters, and suggestions come from questions and phrasings."""

from __future__ import annotations

from bot.conversation.payloads import AnswerRef
from bot.conversation.replies import answer_reply, notice_reply, usage_reply
from bot.discord import render
from bot.discord.suggest import MAX_CHOICES, Suggester
from bot.discord.text import question_from
from faq_core.embedders import LocalEmbedder
from faq_core.engine import FAQEngine
from faq_core.faqs import FAQ
from faq_core.index import build_index
from faq_core.threshold import with_auto_threshold
from tests.stubs.discord_api import message_errors


def test_faqs_with_huge_texts_still_fit_discords_limits(local_embedder: LocalEmbedder) -> None:
    faqs = [
        FAQ(id="huge-" + "x" * 120, question="How do I file a very long claim? " + "Details. " * 60,
            answer="Step. " * 1500, url="https://example.com/" + "a" * 300),
        FAQ(id="short", question="What is a claim?", answer="A request for payment."),
        FAQ(id="other", question="What is a premium? " + "Really. " * 40, answer="Money. " * 900),
    ]
    engine = FAQEngine(with_auto_threshold(build_index(faqs, local_embedder)), local_embedder, min_score=0.0)
    answer = engine.answer("how do I file a long claim " * 200)
    for content in (answer_reply(answer, AnswerRef.from_answer(answer), shareable=True,
                                 notes=("note " * 500,), shared_by="1" * 19),
                    answer_reply(FAQEngine(engine.index, local_embedder, min_score=0.99).answer("claims " * 300),
                                 AnswerRef.from_answer(answer)),
                    usage_reply("1" * 19, engine.info), notice_reply("x" * 3000)):
        body = render.render(content, ephemeral=True)
        assert message_errors(body) is None, (content.kind, message_errors(body))
        for row in body["components"]:
            for button in row["components"]:
                assert len(button["custom_id"]) <= 100 and len(button["label"]) <= 80
                assert render.parse_custom_id(button["custom_id"]) is not None
        assert body["flags"] == render.EPHEMERAL and body["allowed_mentions"] == {"parse": []}


def test_button_ids_round_trip_and_strangers_are_ignored() -> None:
    assert render.parse_custom_id(render.custom_id(render.PICK, "abc", 2)) == (render.PICK, "abc", 2)
    assert render.parse_custom_id(render.custom_id(render.HELPFUL, "abc")) == (render.HELPFUL, "abc", None)
    for stranger in ("", "faq", "faq:x:abc", "other:h:abc", "faq:p:abc:two", "faq:h:a:b:c"):
        assert render.parse_custom_id(stranger) is None


def test_suggestions_come_from_questions_and_phrasings(engine: FAQEngine) -> None:
    suggester = Suggester(engine.index)
    names = [s.name for s in suggester.suggest("replacement car")]
    assert names[0] == "How do I get a replacement Medicare card?"
    assert len(suggester.suggest("")) == min(MAX_CHOICES, len(engine.index.faqs))
    assert suggester.suggest("zzzz qqqq") == []
    first = engine.index.faqs[0]
    assert suggester.faq_id_of(f"faq:{first.id}") == first.id
    assert suggester.faq_id_of("faq:no-such-faq") is None and suggester.faq_id_of(first.question) is None
    for suggestion in suggester.suggest("medicare"):
        assert 1 <= len(suggestion.name) <= 100 and 1 <= len(suggestion.value) <= 100


def test_discord_markup_is_made_readable() -> None:
    bot = "1000000000000000001"
    assert question_from(f"<@{bot}> hi", bot) == "hi"
    assert question_from(f"<@!{bot}> hi <@2> and <@&3> in <#4>", bot, {"2": "ada", "4": "help"}) == \
        "hi @ada and @3 in #help"
    assert question_from("<:wave:12345> ```code``` ok", bot) == "code ok"
    assert question_from("@everyone 👍", bot) == "everyone 👍"
    assert question_from("<a:dance:1> 🤔 ???", bot) == ""
    assert question_from(None, bot) == ""
