"""The review digest: the period's questions, answered / abstained / helpful
rates with their change from the period before, the top unanswered clusters
and the FAQs most often voted not helpful; sent to ``DIGEST_CHANNEL`` by
exactly one replica (elected through the store), taken over when the elected
one died, and printed by ``faq-bot digest`` as plain text. Store tests run on SQLite
and, when ``TEST_DATABASE_URL`` is set, PostgreSQL."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

import pytest
from slack_sdk import WebClient
from sqlalchemy import update

from bot.cli import main as cli
from bot.conversation.answering import Answerer, Asked
from bot.features.digest import (
    CLAIM_LEASE,
    Period,
    build_digest,
    claim_period,
    digest_content,
    digest_text,
    last_period,
    sent_digests,
)
from bot.features.recording import QuestionRow, recorder
from bot.slack.digest import digest_reply, send_due_digest
from bot.slack.settings import SlackSettings
from bot.slack.web_api import make_web_client
from bot.store.database import Feedback, Store, Vote
from bot.tenancy import Tenant
from faq_core.engine import FAQEngine
from tests.service.test_review import VPN
from tests.slack.conftest import start_bot, stop_bot
from tests.stubs.slack_api import BOT_TOKEN, TEAM_ID, SlackAPIStub

DIGESTS = "C0DIGEST01"
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)  # a Wednesday
LAST_WEEK = Period(datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC))
_keys = count(1)


def _ask(store: Store, engine: FAQEngine, text: str, at: datetime, user: str = "U1") -> str:
    """Record a question through the real Answerer, then date it ``at``; returns its answer id."""
    key = f"d:{next(_keys)}"
    Answerer(engine, observers=[recorder(store, SlackSettings(), engine)]).reply(
        text, bot_user_id=None, asked=Asked(platform="slack", channel_kind="channel", workspace=TEAM_ID,
                                            channel_id="C1", user_id=user, key=key))
    with store.transaction() as connection:
        connection.execute(update(QuestionRow).where(QuestionRow.key == key).values(asked_at=at))
        answer_id = connection.execute(QuestionRow.__table__.select().where(QuestionRow.key == key)).one().answer_id
    return str(answer_id)


def _vote(store: Store, answer_id: str, faq_id: str, vote: str, at: datetime, user: str = "U1") -> None:
    store.record_vote(Vote(answer_id=answer_id, user_id=user, query="q", faq_id=faq_id, score=0.5,
                           channel_id="C1", vote=vote, tenant=Tenant.slack(TEAM_ID)))
    with store.transaction() as connection:
        connection.execute(update(Feedback).where(Feedback.answer_id == answer_id, Feedback.user_id == user)
                           .values(voted_at=at))


def seed_two_weeks(store: Store, engine: FAQEngine) -> str:
    """Last week: 3 answered + 6 VPN misses, votes 1 helpful / 2 not helpful on one FAQ;
    the week before: 2 answered + 2 misses. Returns the voted FAQ's question."""
    faqs = engine.index.faqs
    during, before = LAST_WEEK.start + timedelta(days=2), LAST_WEEK.start - timedelta(days=3)
    answered = [_ask(store, engine, faqs[i].question, during) for i in range(3)]
    for person in range(2):
        for text in VPN:
            _ask(store, engine, text, during, user=f"U{person}")
    for i in range(2):
        _ask(store, engine, faqs[i].question, before)
        _ask(store, engine, f"Where can I park my bike at the office? ({i})", before)
    _vote(store, answered[0], faqs[0].id, "helpful", during, user="U1")
    _vote(store, answered[0], faqs[0].id, "not_helpful", during, user="U2")
    _vote(store, answered[1], faqs[0].id, "not_helpful", during, user="U3")
    return faqs[0].question


def test_periods_are_whole_weeks_from_monday_and_the_last_ended_one_is_due() -> None:
    assert last_period(NOW, 7) == LAST_WEEK
    assert LAST_WEEK.start.weekday() == 0 and LAST_WEEK.key == "2026-11-16T00:00"
    assert last_period(LAST_WEEK.end, 7) == LAST_WEEK  # due the moment it ends
    assert last_period(NOW, 1).end == datetime(2026, 11, 25, tzinfo=UTC)
    assert LAST_WEEK.previous() == Period(LAST_WEEK.start - timedelta(days=7), LAST_WEEK.start)


def test_the_digest_counts_rates_changes_clusters_and_unhelpful_faqs(any_store: Store, engine: FAQEngine) -> None:
    voted = seed_two_weeks(any_store, engine)
    digest = build_digest(any_store, engine, LAST_WEEK)
    assert (digest.now.seen, digest.now.answered, digest.now.abstained) == (9, 3, 6)
    assert (digest.now.helpful, digest.now.votes) == (1, 3)
    assert (digest.before.seen, digest.before.answered, digest.before.abstained) == (4, 2, 2)
    [top, *_] = digest.clusters
    assert top.text in VPN and (top.asked, top.people) == (6, 2)
    assert all("bike" not in c.text for c in digest.clusters)  # the week before is not this digest's
    assert digest.unhelpful == ((voted, 2),)
    text = digest_text(digest)
    assert "2026-11-16 to 2026-11-23" in text and "9 questions seen (+5 vs the 7 days before)" in text
    assert "Answered 33% (−17 points vs the 7 days before)" in text and "abstained 67% (+17 points" in text
    # no votes the week before: no change to show, and no claim that there was no earlier period
    assert "helpful 33% of 3 votes\n" in text and "no earlier period" not in text
    assert "6x by 2 people" in text and f"{voted} — 2 not helpful" in text
    assert "*" not in text and "`" not in text  # plain text: no Slack markup in a terminal
    # Slack draws the same content in mrkdwn: bold numbers and headings, the command as code
    slack = digest_reply(digest_content(digest))
    assert slack.text.startswith("*FAQ bot digest: 2026-11-16 to 2026-11-23*\n*9 questions* seen (+5 vs")
    assert "Answered *33%* (−17 points vs the 7 days before)" in slack.text
    assert "*Top unanswered clusters*" in slack.text and "`faq-bot review`" in slack.text
    assert [b["text"]["text"] for b in slack.blocks] == slack.text.split("\n\n")


def test_an_empty_period_says_so_plainly(any_store: Store) -> None:
    text = digest_text(build_digest(any_store, None, LAST_WEEK))
    assert "0 questions seen (no earlier period to compare)" in text and "n/a" in text
    assert "No missed questions to review." in text and "No FAQ was voted not helpful." in text


def test_a_first_short_period_reads_right(any_store: Store, engine: FAQEngine) -> None:
    """One question by one person in the first 20 hours: singular nouns, the
    period in hours, and no change against an earlier period that saw nothing."""
    period = Period(LAST_WEEK.start, LAST_WEEK.start + timedelta(hours=19, minutes=56))
    _ask(any_store, engine, VPN[0], period.start + timedelta(hours=1))
    text = digest_text(build_digest(any_store, engine, period))
    assert "1 question seen (no earlier period to compare)" in text
    assert "vs the" not in text and "days" not in text and "pts" not in text
    assert "Answered 0% · abstained 100% · helpful n/a of 0 votes" in text
    assert f"{VPN[0]} — 1x by 1 person" in text
    # with an earlier period that saw questions, the change is measured in the period's own unit
    _ask(any_store, engine, VPN[1], period.start - timedelta(hours=2))
    assert "1 question seen (+0 vs the 20 hours before)" in digest_text(build_digest(any_store, engine, period))


def test_markup_in_a_question_is_escaped_for_slack_only(any_store: Store, engine: FAQEngine) -> None:
    question = "Why does <!channel> & *everyone* get my VPN alerts?"
    _ask(any_store, engine, question, LAST_WEEK.start + timedelta(days=1))
    digest = build_digest(any_store, engine, LAST_WEEK)
    assert question in digest_text(digest)
    slack = digest_reply(digest_content(digest)).text
    assert "&lt;!channel&gt; &amp; *everyone*" in slack and "<!channel>" not in slack


def test_two_replicas_send_one_digest(any_db_url: str, engine: FAQEngine, slack_api: SlackAPIStub) -> None:
    seeding = Store(any_db_url)
    seed_two_weeks(seeding, engine)
    seeding.close()
    settings = SlackSettings(digest_channel=DIGESTS)
    replicas = [Store(any_db_url) for _ in range(2)]
    clients = [make_web_client(BOT_TOKEN, slack_api.base_url) for _ in replicas]
    start = threading.Barrier(len(replicas))
    sent: list[str | None] = [None] * len(replicas)

    def replica(i: int) -> None:
        start.wait()
        sent[i] = send_due_digest(settings, replicas[i], engine, clients[i], now=NOW)

    threads = [threading.Thread(target=replica, args=(i,)) for i in range(len(replicas))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    try:
        [post] = [c for c in slack_api.calls_to("chat.postMessage") if c.params["channel"] == DIGESTS]
        assert post.ok and "*9 questions* seen" in post.params["text"]
        assert sorted(s is None for s in sent) == [False, True]
        [row] = sent_digests(replicas[0])
        assert row.period == LAST_WEEK.key and row.sent_at is not None and row.ts == post.response["ts"]
        # the next maintenance (either replica, any time this week) sends nothing more
        assert send_due_digest(settings, replicas[1], engine, clients[1], now=NOW + timedelta(days=2)) is None
        assert len(slack_api.calls_to("chat.postMessage")) == 1
    finally:
        for store in replicas:
            store.close()


def test_a_dead_replicas_claim_is_taken_over_without_posting_twice(store: Store, engine: FAQEngine,
                                                                   slack_api: SlackAPIStub) -> None:
    settings = SlackSettings(digest_channel=DIGESTS)
    client = make_web_client(BOT_TOKEN, slack_api.base_url)
    # a replica claimed the period and died: within the lease nobody else sends
    assert claim_period(store, LAST_WEEK, DIGESTS, now=NOW, tenant=Tenant.slack(TEAM_ID)).won
    assert send_due_digest(settings, store, None, client, now=NOW + CLAIM_LEASE / 2) is None
    # after the lease another takes over and posts
    later = NOW + CLAIM_LEASE * 2
    assert send_due_digest(settings, store, None, client, now=later) is not None
    assert len(slack_api.calls_to("chat.postMessage")) == 1
    # a claim that did post but died before recording it: the taker-over finds the post
    with store.transaction() as connection:
        from bot.features.digest import DigestRow

        connection.execute(update(DigestRow).values(sent_at=None, claimed_at=NOW))
    assert send_due_digest(settings, store, None, client, now=later) is not None
    assert len(slack_api.calls_to("chat.postMessage")) == 1


def test_no_channel_no_digest(store: Store, slack_api: SlackAPIStub) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=slack_api.base_url)
    assert send_due_digest(SlackSettings(), store, None, client, now=NOW) is None
    assert sent_digests(store) == [] and slack_api.calls == []


def test_the_running_bot_sends_the_due_digest_once(settings: SlackSettings, engine: FAQEngine, store: Store,
                                                   slack_api: SlackAPIStub) -> None:
    bots = [start_bot(replace(settings, digest_channel=DIGESTS), engine, store) for _ in range(2)]
    try:
        slack_api.wait_for(lambda calls: any(c.method == "chat.postMessage" for c in calls), timeout=60)
        for running in bots:
            running.settle()
    finally:
        for running in bots:
            stop_bot(running)
    [post] = slack_api.calls_to("chat.postMessage")
    assert post.ok and post.params["channel"] == DIGESTS and "FAQ bot digest" in post.params["text"]
    assert len(sent_digests(store)) == 1


def test_faq_bot_digest_prints(db_url: str, engine: FAQEngine, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str], sample_index_dir: Path) -> None:
    store = Store(db_url)
    seed_two_weeks(store, engine)
    store.close()
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setattr("bot.features.digest.last_period", lambda now, days: LAST_WEEK)
    monkeypatch.setenv("EMBEDDING_BACKEND", "local")
    assert cli.main(["digest", "--index", str(sample_index_dir)]) == 0  # printing is what it does
    out = capsys.readouterr().out
    assert out.startswith("FAQ bot digest: 2026-11-16 to 2026-11-23\n9 questions seen")
    assert "VPN password" in out and "2 not helpful" in out and "*" not in out
    assert cli.main(["digest", "--print", "--no-clusters", "--current"]) == 0  # --print is still accepted
    assert "questions seen" in capsys.readouterr().out


def test_the_hand_off_and_digest_migration_downgrades_and_upgrades_again(any_store: Store) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from bot.store.migrations import _config, head, upgrade

    assert claim_period(any_store, LAST_WEEK, DIGESTS, now=NOW).won
    with any_store.engine.begin() as connection:
        command.downgrade(_config(connection), "0003")
        assert not {"handoffs", "digests"} & set(inspect(connection).get_table_names())
    assert upgrade(any_store.engine) == ("0003", head())
    assert sent_digests(any_store) == []
    assert claim_period(any_store, LAST_WEEK, DIGESTS, now=NOW).won
