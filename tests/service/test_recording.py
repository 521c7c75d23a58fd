"""Recording for the review loop: every question the bot sees is written with
its outcome (answered, no match, error), where it was asked and, unless
``FAQ_RECORD_TEXT=false``, its text; a retried piece of work is recorded once;
"Did you mean…?" picks and votes link back to the question; the retention
sweep blanks text and asker. On SQLite and, when ``TEST_DATABASE_URL`` is set,
PostgreSQL; then end to end through the Slack bot."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from bot.conversation.answering import Answerer, Asked
from bot.features.recording import (
    QuestionRow,
    asker_key,
    forget_old_questions,
    normalise_text,
    picks,
    record_pick,
    recorded_questions,
    recorder,
    text_key,
    unpack_vector,
)
from bot.features.upkeep import maintain
from bot.settings import BotSettings
from bot.slack import blocks
from bot.store.database import Feedback, Store
from bot.store.intake import Intake
from bot.store.migrations import head, upgrade
from faq_core.answer import Outcome
from faq_core.engine import FAQEngine
from faq_core.errors import EmbeddingUnavailableError
from tests.slack.conftest import RunningBot
from tests.stubs.slack_api import BOT_USER_ID, TEAM_ID, SlackAPIStub
from tests.stubs.slack_payloads import USER, button_click, buttons, direct_message, mention, signed_action, signed_event

ASKED = Asked(platform="slack", channel_kind="channel", workspace="T1", channel_id="C1", user_id="U1", key="k:1")


@pytest.fixture()
def any_store(any_db_url: str):  # type: ignore[no-untyped-def]
    store = Store(any_db_url)
    yield store
    store.close()


def test_answered_and_missed_questions_are_recorded_with_their_outcome(any_store: Store,
                                                                       engine: FAQEngine) -> None:
    answerer = Answerer(engine, observers=[recorder(any_store, BotSettings(), engine)])
    faq = engine.index.faqs[0]
    answerer.reply(faq.question, bot_user_id=None, asked=ASKED)
    answerer.reply("What's the capital of France?", bot_user_id=None, asked=replace(ASKED, key="k:2", user_id="U2"))
    answerer.reply("", bot_user_id=None, asked=replace(ASKED, key="k:3"))  # nothing asked: nothing recorded
    hit, miss = recorded_questions(any_store)
    assert (hit.text, hit.outcome, hit.faq_id, hit.platform, hit.workspace, hit.channel_kind, hit.index_name) == (
        faq.question, Outcome.ANSWERED.value, faq.id, "slack", "T1", "channel", engine.info.display_name)
    assert hit.model == engine.index.meta.model_id and hit.vector is not None
    expected = engine.embedder.embed([faq.question])[0]
    assert float(unpack_vector(hit.vector) @ expected) > 0.999  # the engine's own vector, kept at float16
    assert hit.confidence is not None and hit.confidence > 0.5
    assert hit.answer_id and len(hit.closest_faqs) == 3 and hit.closest_faqs[0][0] == faq.id
    assert miss.outcome == Outcome.NO_MATCH.value and miss.text == "What's the capital of France?"
    assert miss.closest_faqs, "an abstention keeps its closest FAQs"
    assert hit.asker == asker_key("slack", "T1", "U1") != miss.asker
    assert "U1" not in (hit.asker or "")  # a pseudonym, never the user id
    assert [q.id for q in recorded_questions(any_store, outcomes=[Outcome.NO_MATCH.value])] == [miss.id]


def test_a_retried_question_is_recorded_once(any_store: Store, engine: FAQEngine) -> None:
    answerer = Answerer(engine, observers=[recorder(any_store, BotSettings())])
    for _ in range(3):
        answerer.reply("How do I get a new Medicare card?", bot_user_id=None, asked=ASKED)
    assert len(recorded_questions(any_store)) == 1


def test_without_text_recording_only_the_outcome_is_kept(any_store: Store, engine: FAQEngine) -> None:
    settings = BotSettings.load({"FAQ_RECORD_TEXT": "false"})
    assert settings.record_text is False
    answerer = Answerer(engine, observers=[recorder(any_store, settings, engine)])
    answerer.reply("What's the capital of France?", bot_user_id=None, asked=ASKED)
    [row] = recorded_questions(any_store)
    assert row.text is None and row.outcome == Outcome.NO_MATCH.value and row.closest_faqs
    assert row.vector is None and row.model is None  # a vector says as much as the text


def test_a_failed_question_is_recorded_as_an_error(any_store: Store, engine: FAQEngine,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    answerer = Answerer(engine, observers=[recorder(any_store, BotSettings())])

    def down(question: str) -> None:
        raise EmbeddingUnavailableError("down")

    monkeypatch.setattr(answerer.batcher, "answer", down)
    answerer.reply("how do I renew my card?", bot_user_id=None, asked=ASKED)
    [row] = recorded_questions(any_store)
    assert (row.outcome, row.faq_id, row.confidence, row.closest) == ("error", None, None, None)


def test_awkward_text_is_stored_without_losing_the_row(any_store: Store, engine: FAQEngine) -> None:
    answerer = Answerer(engine, observers=[recorder(any_store, BotSettings())])
    answerer.reply("nul\x00 and a lone \ud800 surrogate", bot_user_id=None, asked=replace(ASKED, workspace="T" * 300))
    [row] = recorded_questions(any_store)
    assert row.text is not None and "\x00" not in row.text and row.text.startswith("nul")
    assert row.workspace == "T" * 64  # cut to the column, on PostgreSQL too


def test_a_pick_is_recorded_once_per_click(any_store: Store) -> None:
    assert record_pick(any_store, key="action:1", answer_id="a1", faq_id="faq-2", shown_answer_id="a9")
    assert not record_pick(any_store, key="action:1", answer_id="a1", faq_id="faq-2")  # a retried click
    assert record_pick(any_store, key="action:2", answer_id="a" * 500, faq_id="f\ud800" * 300)  # a forged value
    first, forged = picks(any_store)
    assert (first.answer_id, first.faq_id, first.shown_answer_id) == ("a1", "faq-2", "a9")
    assert len(forged.answer_id) == 64 and len(forged.faq_id) == 128


def test_retention_blanks_text_and_asker_but_keeps_the_outcome(any_store: Store, engine: FAQEngine) -> None:
    answerer = Answerer(engine, observers=[recorder(any_store, BotSettings(), engine)])
    answerer.reply("an old question", bot_user_id=None, asked=ASKED)
    answerer.reply("a new question", bot_user_id=None, asked=replace(ASKED, key="k:2"))
    with any_store.engine.begin() as connection:
        connection.execute(update(QuestionRow).where(QuestionRow.key == "k:1")
                           .values(asked_at=datetime.now(UTC) - timedelta(days=91)))
    maintain(any_store, Intake(any_store), 90)
    old, new = recorded_questions(any_store)
    assert (old.text, old.asker, old.vector, old.outcome) == (None, None, None, Outcome.NO_MATCH.value)
    assert new.text == "a new question" and new.asker is not None and new.vector is not None
    assert forget_old_questions(any_store, 90) == 0  # once


def test_same_question_keys_ignore_case_spacing_and_end_punctuation() -> None:
    assert normalise_text("  How do I  PAY my bill?? ") == "how do i pay my bill"
    assert text_key("How do I pay my bill?") == text_key("how do i pay  my bill")
    assert text_key("How do I pay my bill?") != text_key("How do I pay my fine?")


def test_the_migration_downgrades_and_upgrades_again(any_store: Store) -> None:
    from alembic import command

    from bot.store.migrations import _config

    with any_store.engine.begin() as connection:
        command.downgrade(_config(connection), "0002")
    before, after = upgrade(any_store.engine)
    assert (before, after) == ("0002", head())  # 0003 and every later step
    assert recorded_questions(any_store) == []


# -- end to end through the Slack bot -----------------------------------------------------
MENTION = f"<@{BOT_USER_ID}>"


def test_slack_questions_picks_and_votes_link_up_in_the_store(bot: RunningBot, slack_api: SlackAPIStub,
                                                              store: Store) -> None:
    event = mention(f"{MENTION} How do I pay my bill?")
    bot.send(signed_event(event))
    bot.send(signed_event(event))  # Slack's retry: recorded once
    [post] = slack_api.wait_calls("chat.postMessage")
    bot.settle()
    [question] = recorded_questions(store)
    assert (question.platform, question.workspace, question.channel_kind) == ("slack", TEAM_ID, "channel")
    assert question.text == "How do I pay my bill?" and question.outcome == Outcome.NO_MATCH.value
    assert question.key == f"message:{event['event']['channel']}:{event['event']['ts']}"

    pick = buttons(post.params["blocks"])[f"{blocks.PICK_PREFIX}0"]
    picked_faq = json.loads(pick["value"])["f"]
    click = button_click(pick, response_url=slack_api.response_url("pick"), message=post.response["message"])
    assert bot.send(signed_action(click)).status_code == 200
    chosen = slack_api.wait_calls("chat.postMessage", count=2)[1]
    bot.settle()
    [recorded_pick] = picks(store)
    assert (recorded_pick.answer_id, recorded_pick.faq_id) == (question.answer_id, picked_faq)

    helpful = buttons(chosen.params["blocks"])[blocks.NOT_HELPFUL]
    bot.send(signed_action(button_click(helpful, response_url=slack_api.response_url("vote"),
                                        message=chosen.response["message"])))
    slack_api.wait_calls("chat.update")
    bot.settle()
    [vote] = store.votes()
    assert isinstance(vote, Feedback) and vote.answer_id == recorded_pick.shown_answer_id


def test_a_dm_is_recorded_as_a_dm(bot: RunningBot, slack_api: SlackAPIStub, store: Store,
                                  engine: FAQEngine) -> None:
    bot.send(signed_event(direct_message(engine.index.faqs[0].question)))
    slack_api.wait_calls("chat.postMessage")
    bot.settle()
    [question] = recorded_questions(store)
    assert question.channel_kind == "dm" and question.outcome == Outcome.ANSWERED.value
    assert question.asker == asker_key("slack", TEAM_ID, USER)
