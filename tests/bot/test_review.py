"""The review loop after recording: misses clustered and ranked with a
suggestion, decisions stored (a decided question never comes back), and
``apply`` writing a new FAQ source that, built into an index, answers the
questions the bot missed. Store tests run on SQLite and, when
``TEST_DATABASE_URL`` is set, PostgreSQL; the engine is the real one."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import update

from bot.answering import Answerer, Asked
from bot.recording import QuestionRow, record_pick, recorder
from bot.review import clustering
from bot.review.apply import apply_decisions
from bot.review.clustering import cluster_vectors
from bot.review.clusters import NEW_FAQ, NOT_HELPFUL, PHRASING, PICKED_OTHER, Cluster, review
from bot.review.decisions import ACCEPT, NEW, accept, decisions, dismiss, new_faq
from bot.store import Store, Vote
from faq_core import cli
from faq_core.engine import FAQEngine
from faq_core.errors import ReviewError
from faq_core.faqs import load_faqs
from faq_core.index import build_index_from_source
from faq_core.sample import sample_source
from faq_core.settings import Settings

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
    return Answerer(engine, observers=[recorder(store, Settings(), engine)])


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
    rebuilt = FAQEngine(build_index_from_source(out, engine.embedder), engine.embedder)
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
    assert cli.main(["review"]) == 0
    table = capsys.readouterr().out
    assert table.startswith("#1  cluster ") and "4 people" in table and "suggest: new FAQ" in table
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
    capsys.readouterr()
    assert cli.main(["review"]) == 0
    assert "no missed questions" in capsys.readouterr().out
    assert cli.main(["review", "decisions"]) == 0
    listed = capsys.readouterr().out
    assert "dismiss" in listed and "by U_ADMIN" in listed and "new" in listed
    source = _sample_copy(tmp_path)
    assert cli.main(["review", "apply", "--source", str(source), "--out", str(source)]) == 2
    assert "is the source" in capsys.readouterr().err
    out = tmp_path / "faqs.next.csv"
    assert cli.main(["review", "apply", "--source", str(source), "--out", str(out)]) == 0
    assert "1 new FAQ(s)" in capsys.readouterr().out
    assert any(f.question in VPN and f.answer == "Use the portal." for f in load_faqs(out))


@pytest.mark.parametrize("options", [["--days", "-3"], ["--days", "soon"], ["--limit", "-1"]])
def test_bad_review_options_are_refused_by_name(options: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["review", *options])
    assert exit_.value.code == 2 and options[0] in capsys.readouterr().err


def test_a_review_of_outcomes_without_text_says_why_it_is_empty(any_store: Store, engine: FAQEngine,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    answerer = Answerer(engine, observers=[recorder(any_store, Settings(record_text=False), engine)])
    _ask(answerer, VPN[0])
    monkeypatch.setenv("DATABASE_URL", any_store.url)
    monkeypatch.setattr(cli, "engine_for", lambda args, settings: engine)
    assert cli.main(["review"]) == 0
    shown = capsys.readouterr()
    assert "no missed questions" in shown.out and "1 abstention(s)" in shown.err and "FAQ_RECORD_TEXT" in shown.err


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
