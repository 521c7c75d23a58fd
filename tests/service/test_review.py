"""The review loop after recording: misses clustered and ranked with a
suggestion, decisions stored (a decided question never comes back), and
``apply`` writing a new FAQ source that, built into an index, answers the
questions the bot missed. Store tests run on SQLite and, when
``TEST_DATABASE_URL`` is set, PostgreSQL; the engine is the real one."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import update

from bot.cli import main as cli
from bot.conversation.answering import Answerer, Asked
from bot.errors import ReviewError
from bot.features.recording import QuestionRow, record_pick, recorded_questions, recorder
from bot.features.review import clustering
from bot.features.review.apply import apply_decisions
from bot.features.review.clustering import cluster_vectors
from bot.features.review.clusters import NEW_FAQ, NOT_HELPFUL, PHRASING, PICKED_OTHER, Cluster, review
from bot.features.review.decisions import ACCEPT, NEW, accept, decisions, dismiss, new_faq
from bot.settings import BotSettings
from bot.store.database import Store, Vote
from faq_core.engine import FAQEngine
from faq_core.errors import FAQSourceError
from faq_core.faqs import load_faqs
from faq_core.index import build_index_from_source
from faq_core.sample import sample_source
from faq_core.threshold import with_auto_threshold

HOLIDAYS = ["When is the office closed for Christmas?", "Is the office open on Christmas Eve?",
            "What are the office holiday closing days?", "Which days is the office closed over the holidays?"]
VPN = ["How do I reset my VPN password?", "I forgot my VPN password, how do I change it?",
       "How can I get a new VPN password?"]
_keys = count(1)


@pytest.fixture()
def any_store(any_db_url: str) -> Iterator[Store]:
    store = Store(any_db_url)
    yield store
    store.close()


def _ask(answerer: Answerer, text: str, user: str = "U1") -> str:
    """Ask through the real Answerer (which records); returns the intake key."""
    key = f"k:{next(_keys)}"
    answerer.reply(text, bot_user_id=None, asked=Asked(platform="slack", channel_kind="channel", workspace="T1",
                                                         channel_id="C1", user_id=user, key=key))
    return key


def _answerer(store: Store, engine: FAQEngine) -> Answerer:
    return Answerer(engine, observers=[recorder(store, BotSettings(), engine)])


def _row(store: Store, key: str) -> QuestionRow:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    with Session(store.engine) as session:
        return session.scalars(select(QuestionRow).where(QuestionRow.key == key)).one()


def _by_text(clusters: list[Cluster], text: str) -> Cluster:
    [found] = [c for c in clusters if text in c.texts]
    return found


# -- clustering -----------------------------------------------------------------------------
def _greedy_reference(vectors: np.ndarray, threshold: float) -> np.ndarray:
    """The founding pass written the obvious way, on the full similarity matrix."""
    similar = vectors @ vectors.T >= threshold
    strength = similar.sum(axis=1)
    labels = np.full(len(vectors), -1)
    count = 0
    for founder in sorted(range(len(vectors)), key=lambda i: -strength[i]):
        if labels[founder] < 0:
            labels[[j for j in range(len(vectors)) if similar[founder, j] and labels[j] < 0] + [founder]] = count
            count += 1
    return labels


def test_chunked_founding_matches_the_full_matrix_with_awkward_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(53, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    expected = _greedy_reference(vectors, 0.5)
    monkeypatch.setattr(clustering, "BLOCK_FLOATS", 53 * 7)  # blocks of 7 rows, the last one short
    strength = clustering.neighbour_strength(vectors, 0.5, np.ones(53))
    labels, count = clustering._found(vectors, np.argsort(-strength, kind="stable"), 0.5)
    assert count == len(set(expected.tolist())) and np.array_equal(labels, expected)
    chunked = cluster_vectors(vectors)
    monkeypatch.setattr(clustering, "BLOCK_FLOATS", 10**8)
    assert np.array_equal(chunked, cluster_vectors(vectors))


def test_clusters_recover_separate_groups_and_leave_an_outlier_alone() -> None:
    rng = np.random.default_rng(0)
    centers = np.eye(16, dtype=np.float32)[:3]
    groups = [c + rng.normal(scale=0.15, size=(10, 16)).astype(np.float32) for c in centers]
    outlier = -np.ones((1, 16), dtype=np.float32)
    vectors = np.concatenate([*groups, outlier])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = cluster_vectors(vectors, threshold=0.5)
    assert [len(set(labels[i * 10:(i + 1) * 10])) for i in range(3)] == [1, 1, 1]
    assert len(set(labels[:30])) == 3 and labels[30] not in set(labels[:30])
    assert np.array_equal(labels, cluster_vectors(vectors, threshold=0.5))  # deterministic
    assert len(cluster_vectors(np.zeros((0, 16), dtype=np.float32))) == 0


# -- review ---------------------------------------------------------------------------------
def test_misses_are_clustered_ranked_by_people_and_deduplicated(any_store: Store, engine: FAQEngine) -> None:
    answerer = _answerer(any_store, engine)
    for user, text in enumerate(HOLIDAYS):
        _ask(answerer, text, user=f"U{user}")
    _ask(answerer, HOLIDAYS[0], user="U0")  # the same person again: asked 2x, still 1 person
    for text in VPN:
        _ask(answerer, text, user="U9")
    _ask(answerer, engine.index.faqs[0].question)  # answered well: not a miss
    clusters = review(any_store, engine)
    holidays, vpn = _by_text(clusters, HOLIDAYS[0]), _by_text(clusters, VPN[0])
    assert holidays is not vpn and clusters[0] is holidays  # 4 people before 1
    assert set(holidays.texts) == set(HOLIDAYS) and (holidays.people, holidays.asked) == (4, 5)
    assert set(vpn.texts) == set(VPN) and vpn.people == 1
    assert holidays.examples[0].text == HOLIDAYS[0] and holidays.examples[0].asked == 2
    assert holidays.suggestion.kind == NEW_FAQ and vpn.suggestion.kind == NEW_FAQ
    assert all(engine.index.faqs[0].question not in c.texts for c in clusters)


def test_picks_and_not_helpful_votes_make_misses_and_suggestions(any_store: Store, engine: FAQEngine) -> None:
    answerer = _answerer(any_store, engine)
    key = _ask(answerer, "the plastic thing from the government is gone")
    question = _row(any_store, key)
    record_pick(any_store, key="action:1", answer_id=question.answer_id or "", faq_id="replacement-card")
    answered = _ask(answerer, engine.index.faqs[1].question)
    row = _row(any_store, answered)
    any_store.record_vote(Vote(answer_id=row.answer_id or "", user_id="U2", query=row.text or "", faq_id=row.faq_id,
                               score=row.confidence, channel_id="C1", vote="not_helpful"))
    same = _ask(answerer, engine.index.faqs[2].question)
    record_pick(any_store, key="action:2", answer_id=_row(any_store, same).answer_id or "",
                faq_id=engine.index.faqs[2].id)  # picked the FAQ it was answered with: no miss
    clusters = review(any_store, engine)
    card = _by_text(clusters, "the plastic thing from the government is gone")
    assert (card.suggestion.kind, card.suggestion.faq_id) == (PHRASING, "replacement-card")
    assert "picked 1x" in card.suggestion.why
    assert NOT_HELPFUL in _by_text(clusters, engine.index.faqs[1].question).reasons
    assert all(engine.index.faqs[2].question not in c.texts for c in clusters)
    assert PICKED_OTHER not in card.reasons  # it was not answered: an abstention with a pick


def test_old_questions_fall_out_of_the_window(any_store: Store, engine: FAQEngine) -> None:
    answerer = _answerer(any_store, engine)
    key = _ask(answerer, VPN[0])
    with any_store.engine.begin() as connection:
        connection.execute(update(QuestionRow).where(QuestionRow.key == key)
                           .values(asked_at=datetime.now(UTC) - timedelta(days=40)))
    assert review(any_store, engine, days=30) == []
    assert len(review(any_store, engine, days=60)) == 1


def test_decided_questions_never_come_back(any_store: Store, engine: FAQEngine) -> None:
    answerer = _answerer(any_store, engine)
    for text in HOLIDAYS + VPN:
        _ask(answerer, text)
    clusters = review(any_store, engine)
    holidays, vpn = _by_text(clusters, HOLIDAYS[0]), _by_text(clusters, VPN[0])
    dismiss(any_store, holidays.id, holidays.texts, decided_by="U_ADMIN")
    new_faq(any_store, vpn.id, vpn.texts, question="How do I reset my VPN password?",
            answer="Use the self-service portal.", url="https://it.example.com/vpn")
    _ask(answerer, "  when is the office CLOSED for christmas ")  # the same question again, written differently
    _ask(answerer, "When is the office closed at Christmas?")  # reworded: as good as the same (cosine > 0.9)
    assert review(any_store, engine) == []
    _ask(answerer, "When is the office closed for Easter?")  # a different question on the same topic
    assert [c.texts for c in review(any_store, engine)] == [("When is the office closed for Easter?",)]
    with pytest.raises(ReviewError, match="decided already"):
        accept(any_store, holidays.id, holidays.texts, "sign-up")
    [dismissed, drafted] = decisions(any_store)
    assert (dismissed.action, dismissed.decided_by, set(dismissed.texts)) == ("dismiss", "U_ADMIN", set(HOLIDAYS))
    assert (drafted.action, drafted.url) == (NEW, "https://it.example.com/vpn")
    with pytest.raises(ReviewError, match="link"):
        new_faq(any_store, "x", ["some other question"], question="Q", answer="A", url="javascript:alert(1)")


@pytest.mark.parametrize("url", ["javascript:alert(1)", "https://", "http:///path", "not-a-link", "file:///etc/passwd",
                                 "https://exa mple.com", "https://example.com/" + "x" * 2100,
                                 "https://wiki/vpn", "HTTPS://Example.com/a?b=c"])
def test_review_new_and_index_build_take_the_same_links(any_store: Store, tmp_path: Path, url: str) -> None:
    source = tmp_path / "faqs.jsonl"
    source.write_text(json.dumps({"question": "How do I use the VPN?", "url": url}) + "\n", encoding="utf-8")
    try:
        load_faqs(source)
        built = None
    except FAQSourceError as error:
        built = error.reason
    try:
        new_faq(any_store, "c1", ["vpn is broken"], question="How do I use the VPN?", answer="A", url=url)
        drafted = None
    except ReviewError as error:
        drafted = str(error)
    assert (built is None) == (drafted is None), (built, drafted)
    if len(url) > 2_048:
        assert drafted == "the url is 2,120 characters long; the limit is 2,048"
    elif drafted is not None:
        assert drafted.startswith(f"the link {url!r} is not usable: ") and "\n" not in drafted


def test_a_drafted_faq_is_held_to_the_sources_length_limits(any_store: Store) -> None:
    with pytest.raises(ReviewError, match=r"^the answer is 10,001 characters long; the limit is 10,000$"):
        new_faq(any_store, "c1", ["vpn"], question="Q?", answer="a" * 10_001)
    with pytest.raises(ReviewError, match=r"^the question is 1,001 characters long; the limit is 1,000$"):
        new_faq(any_store, "c1", ["vpn"], question="q" * 1_001, answer="A")
    assert decisions(any_store) == []


# -- apply ----------------------------------------------------------------------------------
def _sample_copy(tmp_path: Path) -> Path:
    source = tmp_path / "faqs.csv"
    source.write_bytes(Path(sample_source()).read_bytes())
    return source


def test_apply_writes_a_new_source_that_answers_the_misses(any_store: Store, engine: FAQEngine,
                                                           tmp_path: Path) -> None:
    answerer = _answerer(any_store, engine)
    lost = ["someone stole my purse", "the plastic thing from the government is gone"]
    for text in lost:
        key = _ask(answerer, text)
        record_pick(any_store, key=f"pick:{key}", answer_id=_row(any_store, key).answer_id or "",
                    faq_id="replacement-card")
    for text in VPN:
        _ask(answerer, text)
    clusters = review(any_store, engine)
    cards = {c.id: c for c in (_by_text(clusters, lost[0]), _by_text(clusters, lost[1]))}
    vpn = _by_text(clusters, VPN[0])
    for card in cards.values():
        assert card.suggestion.faq_id == "replacement-card"
        accept(any_store, card.id, card.texts, "replacement-card")
    new_faq(any_store, vpn.id, vpn.texts, question=VPN[0], answer="Use the self-service portal.")
    source = _sample_copy(tmp_path)
    before = source.read_bytes()
    out = tmp_path / "faqs.next.csv"
    report = apply_decisions(source, out, decisions(any_store, (ACCEPT, NEW)))
    assert source.read_bytes() == before  # never edited in place
    assert report.added == {"replacement-card": 2} and len(report.new) == 1 and not report.skipped
    faqs = {f.id: f for f in load_faqs(out)}
    assert set(lost) <= set(faqs["replacement-card"].alternates)
    [vpn_faq] = [f for f in faqs.values() if f.question == VPN[0]]
    assert vpn_faq.answer == "Use the self-service portal." and set(vpn_faq.alternates) == set(VPN[1:])
    # the loop closes: the rebuilt index answers what was missed
    rebuilt = FAQEngine(with_auto_threshold(build_index_from_source(out, engine.embedder)), engine.embedder)
    assert not engine.answer("someone has stolen my purse").answered
    answer = rebuilt.answer("someone has stolen my purse")
    assert answer.answered and answer.best is not None and answer.best.faq_id == "replacement-card"
    # applying again adds nothing twice
    again = apply_decisions(out, tmp_path / "faqs.again.csv", decisions(any_store, (ACCEPT, NEW)))
    assert again.added == {} and again.new == []
    assert (tmp_path / "faqs.again.csv").read_text() == out.read_text()


def test_apply_keeps_every_other_column_and_handles_jsonl(tmp_path: Path, any_store: Store) -> None:
    source = tmp_path / "faqs.csv"
    source.write_text("question,answer,owner\nHow do I pay?,Online.,finance\nWho are you?,A bot.,\n")
    accept(any_store, "c1", ["can I pay by card | cheque"], load_faqs(source)[0].id)
    out = tmp_path / "next.csv"
    apply_decisions(source, out, decisions(any_store))
    rows = list(csv.DictReader(out.open()))
    assert rows[0]["owner"] == "finance" and rows[0]["alternates"] == "can I pay by card / cheque"
    assert rows[1]["alternates"] == "" and rows[1]["answer"] == "A bot."
    assert load_faqs(out)[0].id == load_faqs(source)[0].id  # ids derived from the question hold
    jsonl = tmp_path / "faqs.jsonl"
    jsonl.write_text(json.dumps({"id": "pay", "question": "How do I pay?", "alternates": ["paying"],
                                 "tags": ["billing"]}) + "\n")
    accept(any_store, "c2", ["what payment methods are there"], "pay")
    report = apply_decisions(jsonl, tmp_path / "next.jsonl", decisions(any_store))
    [faq] = load_faqs(tmp_path / "next.jsonl")
    assert faq.alternates == ("paying", "what payment methods are there") and faq.tags == ("billing",)
    assert report.skipped and "no FAQ" in report.skipped[0]  # c1's FAQ is not in this source


def test_apply_keeps_every_untouched_line_byte_for_byte(tmp_path: Path, any_store: Store) -> None:
    bom, crlf = "\ufeff", "\r\n"
    lines = ["id,question,answer,alternates",
             'pw,How do I reset my password?,Use "Forgot password" on the login page,',  # a quote CSV allows
             'vpn,"How do I use the VPN?",Install it.,VPN help',
             "",
             'pay,How do I pay?,"Online,  or by card",  ']
    source = tmp_path / "faqs.csv"
    source.write_bytes((bom + crlf.join(lines)).encode("utf-8"))  # the last line has no line ending
    accept(any_store, "c1", ["vpn is broken"], "vpn")
    new_faq(any_store, "c2", ["where can I eat"], question="Where is lunch?", answer='Downstairs, "canteen".')
    report = apply_decisions(source, tmp_path / "next.csv", decisions(any_store))
    assert report.added == {"vpn": 1} and len(report.new) == 1
    assert (tmp_path / "next.csv").read_bytes().decode("utf-8") == bom + crlf.join([
        lines[0], lines[1],
        "vpn,How do I use the VPN?,Install it.,VPN help|vpn is broken",  # the one line a decision touched
        lines[3], lines[4],
        f'{report.new[0]},Where is lunch?,"Downstairs, ""canteen"".",where can I eat']) + crlf

    without_column = tmp_path / "plain.csv"
    without_column.write_bytes(b"question,answer\nHow do I reset my password?,Use \"Forgot password\" here\n"
                               b"How do I use the VPN?,\"Install it.\"\n")
    vpn = load_faqs(without_column)[1].id
    accept(any_store, "c3", ["the vpn is down"], vpn)
    apply_decisions(without_column, tmp_path / "plain.next.csv", decisions(any_store, (ACCEPT,)))
    assert (tmp_path / "plain.next.csv").read_text(encoding="utf-8") == (
        "question,answer,alternates\nHow do I reset my password?,Use \"Forgot password\" here,\n"
        "How do I use the VPN?,Install it.,the vpn is down\n")  # one cell more per line, nothing else


def test_apply_keeps_untouched_jsonl_lines_byte_for_byte(tmp_path: Path, any_store: Store) -> None:
    lines = ['{"id": "pw",   "question": "How do I reset my password?", "answer": "Use \\u0022Forgot\\u0022"}',
             '{"id":"vpn","question":"How do I use the VPN?"}',
             "   ",
             '{"id": "pay", "question": "Pay\u2028ment?"}']
    source = tmp_path / "faqs.jsonl"
    source.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    accept(any_store, "c1", ["vpn is broken"], "vpn")
    apply_decisions(source, tmp_path / "next.jsonl", decisions(any_store))
    assert (tmp_path / "next.jsonl").read_bytes().decode("utf-8") == "\r\n".join([
        lines[0], '{"id": "vpn", "question": "How do I use the VPN?", "alternates": ["vpn is broken"]}',
        lines[2], lines[3]]) + "\r\n"


def test_a_question_longer_than_a_phrasing_may_be_is_cut_at_a_word(tmp_path: Path, any_store: Store) -> None:
    source = tmp_path / "faqs.csv"
    source.write_text("id,question\nvpn,How do I use the VPN?\n", encoding="utf-8")
    long = "my vpn keeps dropping " * 90  # 1,980 characters: the bot reads questions up to 2,000
    accept(any_store, "c1", [long], "vpn")
    apply_decisions(source, tmp_path / "next.csv", decisions(any_store))
    [faq] = load_faqs(tmp_path / "next.csv")
    [added] = faq.alternates
    assert 990 < len(added) <= 1_000 and long.startswith(added) and long[len(added)] == " "  # at a word
    again = apply_decisions(tmp_path / "next.csv", tmp_path / "again.csv", decisions(any_store))
    assert again.added == {}  # the cut phrasing counts as applied


def test_apply_names_out_when_it_cannot_be_written(tmp_path: Path) -> None:
    source = _sample_copy(tmp_path)
    os.mkfifo(tmp_path / "pipe.csv")
    for force in (False, True):
        with pytest.raises(ReviewError, match=r"--out .*pipe\.csv is a FIFO \(named pipe\), not a file: choose "
                                              r"another path \(--force never replaces it\)"):
            apply_decisions(source, tmp_path / "pipe.csv", [], force=force)
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder\n")
    with pytest.raises(ReviewError,
                       match=r"^cannot write --out .*a-file/next\.csv: a part of its path is a file, not a folder$"):
        apply_decisions(source, blocked / "next.csv", [])


def test_apply_refuses_to_overwrite(tmp_path: Path) -> None:
    tmp_path = tmp_path / "files"
    tmp_path.mkdir()
    source = _sample_copy(tmp_path)
    with pytest.raises(ReviewError, match="is the source"):
        apply_decisions(source, source, [])
    with pytest.raises(ReviewError, match="is the source"):
        apply_decisions(source, tmp_path / "." / "faqs.csv", [])
    existing = tmp_path / "taken.csv"
    existing.write_text("keep me")
    with pytest.raises(ReviewError, match="exists"):
        apply_decisions(source, existing, [])
    assert existing.read_text() == "keep me"
    apply_decisions(source, existing, [], force=True)
    assert load_faqs(existing) == load_faqs(source)
    with pytest.raises(ReviewError, match="format"):
        apply_decisions(source, tmp_path / "next.jsonl", [])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["faqs.csv", "taken.csv"]  # no temporary left


# -- the command line -----------------------------------------------------------------------
def test_the_review_command_lists_decides_and_applies(any_store: Store, engine: FAQEngine, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    answerer = _answerer(any_store, engine)
    for user, text in enumerate(HOLIDAYS):
        _ask(answerer, text, user=f"U{user}")
    for text in VPN:
        _ask(answerer, text)
    monkeypatch.setenv("DATABASE_URL", any_store.url)
    monkeypatch.setattr(cli, "engine_for", lambda args, settings: engine)
    assert cli.main(["review", "decisions"]) == 0
    assert capsys.readouterr().out.startswith("no decisions yet: 'faq-bot review' lists the clusters")
    assert cli.main(["review"]) == 0
    table = capsys.readouterr().out
    assert table.startswith("#1  cluster ") and "4 people" in table and "suggest: new FAQ" in table
    assert "1 person, asked 3x" in table
    assert f"- {HOLIDAYS[0]}" in table
    assert cli.main(["review", "--format", "jsonl"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["people"] for line in lines] == [4, 1] and set(lines[1]["questions"]) == set(VPN)
    assert cli.main(["review", "--format", "csv"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert rows[0]["cluster"] == lines[0]["cluster"] and rows[0]["suggestion"] == "new"

    holidays, vpn = lines[0]["cluster"], lines[1]["cluster"]
    assert cli.main(["review", "accept", vpn]) == 2  # a new-FAQ suggestion needs --faq
    assert "--faq" in capsys.readouterr().err
    assert cli.main(["review", "accept", vpn, "--faq", "no-such-faq"]) == 2
    assert cli.main(["review", "accept", "zzzz"]) == 2
    err = capsys.readouterr().err
    assert "no cluster 'zzzz'" in err and "Traceback" not in err
    assert cli.main(["review", "dismiss", holidays[:5], "--by", "U_ADMIN"]) == 0
    assert cli.main(["review", "new", vpn, "--answer", "Use the portal.", "--url", "https://it.example.com"]) == 0
    decided = capsys.readouterr().out
    assert "4 questions dismissed" in decided and "with 3 phrasings" in decided and "(s)" not in decided
    assert cli.main(["review"]) == 0
    assert "no missed questions" in capsys.readouterr().out
    assert cli.main(["review", "decisions"]) == 0
    listed = capsys.readouterr().out
    assert "dismiss" in listed and "(4 questions, by U_ADMIN)" in listed and "new" in listed
    source = _sample_copy(tmp_path)
    assert cli.main(["review", "apply", "--source", str(source), "--out", str(source)]) == 2
    assert "is the source" in capsys.readouterr().err
    out = tmp_path / "faqs.next.csv"
    assert cli.main(["review", "apply", "--source", str(source), "--out", str(out)]) == 0
    assert "1 new FAQ" in (printed := capsys.readouterr().out) and "(s)" not in printed
    assert any(f.question in VPN and f.answer == "Use the portal." for f in load_faqs(out))


def test_questions_asked_with_ask_record_are_reviewed_like_the_bots(
    db_url: str, sample_index_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The review loop from a terminal: ``ask --record`` goes through the bots'
    recorder as platform "cli", and ``review`` clusters its misses."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("EMBEDDING_BACKEND", "local")
    index = ["--index", str(sample_index_dir)]
    card = "How do I get a replacement Medicare card?"
    assert cli.main(["ask", *index, VPN[0]]) == 0  # without --record nothing is recorded
    assert cli.main(["ask", "--record", *index, *VPN, card, " "]) == 0
    out = capsys.readouterr().out
    assert out.count("no confident match") == 4 and out.count("answered: confidence") == 1
    store = Store(db_url)
    try:
        rows = recorded_questions(store)
    finally:
        store.close()
    assert [row.text for row in rows] == [*VPN, card]  # an empty question is not recorded, as in the bots
    assert {(row.platform, row.channel_kind) for row in rows} == {("cli", "terminal")}
    assert [row.outcome for row in rows] == ["no_match"] * 3 + ["answered"]
    assert all(row.vector is not None and row.answer_id and row.closest for row in rows)
    assert len({row.asker for row in rows}) == 1  # one person at this terminal
    assert cli.main(["review", *index]) == 0
    table = capsys.readouterr().out
    assert table.startswith("#1  cluster ") and "1 person, asked 3x" in table and "(abstained 3)" in table
    assert all(f"- {text}  (1x)" in table for text in VPN) and card not in table

    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none")
    assert cli.main(["ask", "--record", *index, VPN[0]]) == 2  # said before any model loads
    shown = capsys.readouterr()
    assert shown.out == "" and shown.err.startswith("faq-bot: error: DATABASE_URL could not be opened")
    assert shown.err.count("\n") == 1


@pytest.mark.parametrize("options", [["--days", "-3"], ["--days", "soon"], ["--limit", "-1"]])
def test_bad_review_options_are_refused_by_name(options: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["review", *options])
    assert exit_.value.code == 2 and options[0] in capsys.readouterr().err


def test_a_review_of_outcomes_without_text_says_why_it_is_empty(any_store: Store, engine: FAQEngine,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    answerer = Answerer(engine, observers=[recorder(any_store, BotSettings(record_text=False), engine)])
    _ask(answerer, VPN[0])
    monkeypatch.setenv("DATABASE_URL", any_store.url)
    monkeypatch.setattr(cli, "engine_for", lambda args, settings: engine)
    assert cli.main(["review"]) == 0
    shown = capsys.readouterr()
    assert "no missed questions" in shown.out and "FAQ_RECORD_TEXT" in shown.err
    assert "(1 abstention in this window was recorded without text" in shown.err


@pytest.mark.parametrize(("url", "status"), [("postgresql://postgres@127.0.0.1:1/none", 1), ("nosuchdb://x/y", 2)],
                         ids=["server-down", "bad-url"])
def test_a_bad_database_url_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                        url: str, status: int) -> None:
    """A database server that is down is a failed service (1); a URL no driver opens, a setting to fix (2)."""
    monkeypatch.setenv("DATABASE_URL", url)
    assert cli.main(["review", "decisions"]) == status
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "DATABASE_URL" in err and "Traceback" not in err


def test_cluster_json_is_plain(any_store: Store, engine: FAQEngine) -> None:
    answerer = _answerer(any_store, engine)
    _ask(answerer, VPN[0])
    [cluster] = review(any_store, engine)
    data = cluster.to_dict()
    assert json.loads(json.dumps(data)) == data and data["questions"] == [VPN[0]]
    assert replace(cluster, id="x").id == "x"
