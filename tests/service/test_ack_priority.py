"""An acknowledgement's intake insert does not queue behind the workers' writes:
it has connections of its own, and on SQLite it goes before every worker write
waiting with it. Workers claim many rows in one statement and finish rows in
grouped transactions. What is acknowledged is recorded, even if the process
dies right after."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import event, select

from bot.store.database import IntakeRow, Store
from bot.store.grouped import GroupedWrites
from bot.store.intake import DONE, PENDING, Intake


def _until(condition: Callable[[], bool], what: str) -> None:
    """Wait (bounded) for ``condition``: a hang fails the test instead of blocking it."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.005)


def test_an_ack_goes_before_the_worker_writes_queued_ahead_of_it(store: Store) -> None:
    intake = Intake(store)
    assert store.gate is not None
    order: list[str] = []
    hold, holding = threading.Event(), threading.Event()

    def worker_write(name: str) -> None:
        with store.transaction():
            order.append(name)

    def long_worker_write() -> None:
        with store.transaction():
            holding.set()
            assert hold.wait(30)

    threads = [threading.Thread(target=long_worker_write)]
    threads[0].start()
    assert holding.wait(30)
    for n in range(5):
        threads.append(threading.Thread(target=worker_write, args=(f"worker {n}",)))
        threads[-1].start()
    _until(lambda: store.gate.waiting() == (0, 5), "five worker writes to queue")  # type: ignore[union-attr]

    def ack() -> None:
        assert intake.add("ack-key", "event", {"text": "hello"})
        order.append("ack")

    threads.append(threading.Thread(target=ack))
    threads[-1].start()
    _until(lambda: store.gate.waiting() == (1, 5), "the ack to queue")  # type: ignore[union-attr]
    hold.set()
    for thread in threads:
        thread.join(30)
    assert order[0] == "ack", order
    assert sorted(order[1:]) == [f"worker {n}" for n in range(5)]


def test_an_ack_is_recorded_while_every_worker_connection_is_taken(any_store: Store) -> None:
    pool = any_store.engine.pool
    taken = [any_store.engine.connect() for _ in range(pool.size() + pool._max_overflow)]  # type: ignore[attr-defined]
    try:
        done = threading.Event()

        def ack() -> None:
            Intake(any_store).add("while-busy", "event", {"text": "hi"})
            done.set()

        threading.Thread(target=ack, daemon=True).start()
        assert done.wait(20), "the ack waited for a worker connection"
    finally:
        for connection in taken:
            connection.close()
    with any_store.engine.connect() as connection:
        assert connection.execute(select(IntakeRow.state).where(IntakeRow.key == "while-busy")).scalar() == PENDING


def test_many_rows_are_claimed_in_one_statement_oldest_first(any_store: Store) -> None:
    intake = Intake(any_store)
    for n in range(40):
        intake.add(f"k{n}", "event", {"n": n})
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if "intake" in statement and not statement.lstrip().upper().startswith(("BEGIN", "COMMIT")):
            statements.append(statement)

    event.listen(any_store.engine, "before_cursor_execute", seen)
    try:
        claimed = intake.claim(32)
    finally:
        event.remove(any_store.engine, "before_cursor_execute", seen)
    assert [work.payload["n"] for work in claimed] == list(range(32))
    assert all(work.attempts == 1 for work in claimed)
    assert len(statements) == 1, statements
    assert [work.payload["n"] for work in intake.claim(32)] == list(range(32, 40))
    assert intake.claim(32) == []


def test_rows_finished_together_are_written_in_one_transaction(any_store: Store) -> None:
    intake = Intake(any_store)
    for n in range(8):
        intake.add(f"k{n}", "event", {"n": n})
    claimed = intake.claim(8)
    groups: list[int] = []
    first_entered, release = threading.Event(), threading.Event()

    def write(works: list) -> None:  # type: ignore[type-arg]
        groups.append(len(works))
        if len(groups) == 1:  # hold the first write, so the others queue behind it
            first_entered.set()
            assert release.wait(30)
        intake.finish_many(works)

    grouped: GroupedWrites = GroupedWrites(write)
    threads = [threading.Thread(target=grouped.write, args=(claimed[0],))]
    threads[0].start()
    assert first_entered.wait(30)
    for work in claimed[1:]:
        threads.append(threading.Thread(target=grouped.write, args=(work,)))
        threads[-1].start()
    _until(lambda: len(grouped._queue) == 7, "seven writes to queue")
    release.set()
    for thread in threads:
        thread.join(30)
    assert groups == [1, 7]
    assert intake.counts() == {DONE: 8}


def test_a_failed_grouped_write_fails_every_writer_in_its_group() -> None:
    def write(items: list) -> None:  # type: ignore[type-arg]
        raise RuntimeError("the store is down")

    with pytest.raises(RuntimeError, match="the store is down"):
        GroupedWrites(write).write(1)


ACK_THEN_WAIT = """
import sys
from bot.store.database import Store
from bot.store.intake import Intake
store = Store(sys.argv[1])
assert Intake(store).add("acked-then-killed", "event", {"text": "kept"})
print("ACKED", flush=True)
sys.stdin.read()  # killed here, without closing anything
"""


def test_a_row_acknowledged_survives_the_process_being_killed_at_once(any_db_url: str, tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", ACK_THEN_WAIT, any_db_url], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ACKED"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(30)
    store = Store(any_db_url)
    try:
        with store.engine.connect() as connection:
            row = connection.execute(select(IntakeRow.state, IntakeRow.payload)
                                     .where(IntakeRow.key == "acked-then-killed")).one()
    finally:
        store.close()
    assert row.state == PENDING and "kept" in row.payload


def _answered(key: str, question: str):  # type: ignore[no-untyped-def]
    from bot.conversation.answering import Answered, Asked

    asked = Asked(platform="slack", channel_kind="channel", workspace="T1", channel_id="C1", user_id="U1", key=key)
    return Answered(asked, question, None, "error", 0.01, error="x", answer_id=f"a-{key}")


def test_questions_answered_together_are_recorded_in_one_transaction(any_store: Store) -> None:
    from bot.features.recording import question_row, record_questions, recorded_questions

    commits: list[int] = []
    event.listen(any_store.engine, "commit", lambda _connection: commits.append(1))
    rows = [question_row(_answered(f"k{n}", f"question {n}")) for n in range(6)]
    record_questions(any_store, rows)  # type: ignore[arg-type]
    assert len(commits) == 1
    assert [q.text for q in recorded_questions(any_store)] == [f"question {n}" for n in range(6)]


def test_a_retried_question_in_a_group_does_not_cost_the_others(any_store: Store) -> None:
    from bot.features.recording import question_row, record_questions, recorded_questions

    record_questions(any_store, [question_row(_answered("k1", "first try"))])  # type: ignore[list-item]
    group = [question_row(_answered(key, f"{key} asked")) for key in ("k0", "k1", "k2")]
    record_questions(any_store, group)  # type: ignore[arg-type]
    assert sorted(q.text or "" for q in recorded_questions(any_store)) == ["first try", "k0 asked", "k2 asked"]


def test_acks_arriving_together_are_committed_together_and_a_repeat_is_told_apart(any_store: Store) -> None:
    intake = Intake(any_store)
    commits: list[int] = []
    event.listen(any_store.ack_engine, "commit", lambda _connection: commits.append(1))
    results: dict[str, bool] = {}
    first_entered, release = threading.Event(), threading.Event()
    inserting = intake._insert

    def held_insert(rows: list) -> None:  # type: ignore[type-arg]
        if not first_entered.is_set():  # hold the first insert, so the others queue behind it
            first_entered.set()
            assert release.wait(30)
        inserting(rows)

    intake._adding._write = held_insert

    def add(key: str, name: str) -> None:
        results[name] = intake.add(key, "event", {"name": name})

    threads = [threading.Thread(target=add, args=("e0", "first"))]
    threads[0].start()
    assert first_entered.wait(30)
    for n, key in enumerate(["e1", "e2", "e0", "e3"]):  # "e0" again: Slack's retry of the first
        threads.append(threading.Thread(target=add, args=(key, f"later {n}")))
        threads[-1].start()
    _until(lambda: len(intake._adding._queue) == 4, "four acks to queue")
    release.set()
    for thread in threads:
        thread.join(30)
    assert results == {"first": True, "later 0": True, "later 1": True, "later 2": False, "later 3": True}
    with any_store.engine.connect() as connection:
        keys = connection.execute(select(IntakeRow.key).order_by(IntakeRow.id)).scalars().all()
    assert keys == ["e0", "e1", "e2", "e3"]  # arrival order kept
    # one commit for the first, then the group of four failed on the repeat and went one by one (3 new rows)
    assert len(commits) == 1 + 3


def test_acks_arriving_together_without_a_repeat_share_one_commit(any_store: Store) -> None:
    intake = Intake(any_store)
    commits: list[int] = []
    event.listen(any_store.ack_engine, "commit", lambda _connection: commits.append(1))
    first_entered, release = threading.Event(), threading.Event()
    inserting = intake._insert

    def held_insert(rows: list) -> None:  # type: ignore[type-arg]
        if not first_entered.is_set():
            first_entered.set()
            assert release.wait(30)
        inserting(rows)

    intake._adding._write = held_insert
    threads = [threading.Thread(target=intake.add, args=(f"e{n}", "event", {})) for n in range(9)]
    threads[0].start()
    assert first_entered.wait(30)
    for thread in threads[1:]:
        thread.start()
    _until(lambda: len(intake._adding._queue) == 8, "eight acks to queue")
    release.set()
    for thread in threads:
        thread.join(30)
    assert len(commits) == 2 and intake.pending() == 9
