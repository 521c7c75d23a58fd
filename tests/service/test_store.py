"""The store itself: schema migrations (a database from before migrations
upgrades cleanly, keeping its answered events), ``faq-bot db upgrade``, a
private SQLite file, a clear line when psycopg is missing, the reachability
check, and forgetting question text and user ids after the retention period."""

from __future__ import annotations

import sqlite3
import stat
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, update

from bot.cli import main as cli
from bot.store.database import Feedback, Store, Vote, make_engine
from bot.store.intake import DONE, Intake
from bot.store.migrations import current, head
from bot.store.workers import Workers
from faq_core.errors import ConfigError

# The schema the bot created before migrations existed (SQLAlchemy's create_all of that code).
OLD_SCHEMA = """
CREATE TABLE feedback (
    id INTEGER NOT NULL, answer_id VARCHAR(64) NOT NULL, user_id VARCHAR(64) NOT NULL, query TEXT NOT NULL,
    faq_id VARCHAR(128), score FLOAT, channel_id VARCHAR(64), vote VARCHAR(16) NOT NULL,
    voted_at DATETIME NOT NULL, PRIMARY KEY (id),
    CONSTRAINT one_vote_per_user_per_answer UNIQUE (answer_id, user_id));
CREATE TABLE processed_events (
    "key" VARCHAR(255) NOT NULL, kind VARCHAR(32) NOT NULL, owner VARCHAR(64) NOT NULL,
    claimed_at FLOAT NOT NULL, done_at FLOAT, PRIMARY KEY ("key"));
INSERT INTO feedback VALUES (1, 'a1', 'U1', 'how do I sign up?', 'faq-1', 0.8, 'C1', 'helpful',
                             '2026-01-01 10:00:00.000000');
INSERT INTO processed_events VALUES ('message:C1:1.0', 'app_mention', 'old:1', 1700000000.0, 1700000001.0);
INSERT INTO processed_events VALUES ('command:T1', 'slash_command', 'old:1', 1700000002.0, NULL);
"""


def test_a_database_from_before_migrations_upgrades_and_keeps_its_answered_events(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(OLD_SCHEMA)
    store = Store(f"sqlite:///{path}")
    try:
        with store.engine.connect() as connection:
            assert current(connection) == head()
        tables = set(inspect(store.engine).get_table_names())
        assert {"feedback", "intake", "alembic_version"} <= tables and "processed_events" not in tables
        assert [v.query for v in store.votes()] == ["how do I sign up?"]  # votes kept
        intake = Intake(store)
        assert not intake.add("message:C1:1.0", "app_mention", {})  # answered before: a retry is recognised
        assert not intake.add("command:T1", "slash_command", {})
        assert intake.counts() == {DONE: 2}
        assert intake.add("message:C1:2.0", "app_mention", {})  # new work goes in
    finally:
        store.close()
    Store(f"sqlite:///{path}").close()  # opening again: already at head, nothing to do


def test_db_upgrade_command_reports_the_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(OLD_SCHEMA)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    assert cli.main(["db", "upgrade"]) == 0
    assert f"schema at {head()} (was 0001)" in capsys.readouterr().out
    assert cli.main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out.strip().endswith(f"schema at {head()}")


def test_the_sqlite_file_is_created_private(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "faq.db"
    Store(f"sqlite:///{path}").close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_postgres_without_psycopg_names_the_extra(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"psycopg is not installed: pip install 'faq-bot\[postgres\]'"):
        make_engine("postgresql://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    assert cli.main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "faq-bot[postgres]" in err and "Traceback" not in err


def test_reachability_check(any_db_url: str) -> None:
    store = Store(any_db_url)
    try:
        assert store.reachable()
    finally:
        store.close()
    down = Store("postgresql://postgres@127.0.0.1:1/none", upgrade=False)  # nothing listens on port 1
    assert not down.reachable()


def _vote(store: Store, answer_id: str, user: str) -> None:
    store.record_vote(Vote(answer_id=answer_id, user_id=user, query=f"question of {user}", faq_id="faq-1",
                           score=0.7, channel_id="C1", vote="helpful"))


def test_old_feedback_loses_question_and_user_but_keeps_the_vote(any_db_url: str) -> None:
    store = Store(any_db_url)
    try:
        _vote(store, "a1", "U_OLD")
        _vote(store, "a1", "U_OLD2")
        _vote(store, "a2", "U_NEW")
        long_ago = datetime.now(UTC) - timedelta(days=91)
        with store.engine.begin() as connection:
            connection.execute(update(Feedback).where(Feedback.user_id.like("U_OLD%")).values(voted_at=long_ago))
        assert store.forget_old_feedback(90) == 2
        assert store.forget_old_feedback(90) == 0  # once
        votes = {v.answer_id + ":" + v.query: v for v in store.votes()}
        assert {v.user_id for v in votes.values()} >= {"U_NEW"}
        assert "a2:question of U_NEW" in votes
        forgotten = [v for v in store.votes() if v.answer_id == "a1"]
        assert all(v.query == "" and not v.user_id.startswith("U_") for v in forgotten)
        assert store.tally("a1") == (2, 0)  # the tally holds
    finally:
        store.close()


def test_the_workers_run_the_clean_up_periodically_while_running(db_url: str) -> None:
    store = Store(db_url)
    runs: list[float] = []
    third = threading.Event()

    def clean_up() -> None:
        runs.append(time.monotonic())
        if len(runs) >= 3:
            third.set()

    cleaned = Workers(Intake(store), lambda work: None, threads=1, poll_seconds=0.05,
                      maintenance=clean_up, maintenance_seconds=0.1)
    cleaned.start()
    try:
        assert third.wait(30), f"clean-up ran {len(runs)} times"
        assert runs[2] - runs[0] >= 0.15  # spaced by the interval, not back to back
    finally:
        cleaned.stop()
        store.close()


def test_the_reachability_check_does_not_wait_for_a_busy_sqlite_writer(db_url: str) -> None:
    store = Store(db_url)
    writer = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # a long write holds the lock
        assert store.reachable()  # a probe must not hang on it (it would give up after 30 s: False)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        store.close()


def test_db_upgrade_creates_a_fresh_schema(any_db_url: str, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", any_db_url)
    assert cli.main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out.strip().endswith(f"schema at {head()} (was empty)")
    store = Store(any_db_url, upgrade=False)
    try:
        assert {"feedback", "intake"} <= set(inspect(store.engine).get_table_names())
    finally:
        store.close()
