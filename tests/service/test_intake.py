"""The durable intake as a queue, on SQLite and (with ``TEST_DATABASE_URL``) PostgreSQL:
a key is recorded once, rows are claimed oldest first by exactly one worker,
a dead worker's lease runs out and its rows are taken again, finished rows
keep their key but lose their payload, failing rows are set aside, and old
rows are pruned."""

from __future__ import annotations

import threading
import time

import pytest

from bot.store.database import IntakeRow, Store
from bot.store.intake import DONE, FAILED, PENDING, Intake


@pytest.fixture()
def stores(any_db_url: str):  # type: ignore[no-untyped-def]
    """Two stores on one database, as two replicas would have."""
    opened = [Store(any_db_url), Store(any_db_url)]
    yield opened
    for store in opened:
        store.close()


def _row(store: Store, key: str) -> IntakeRow:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    with Session(store.engine) as session:
        row = session.scalar(select(IntakeRow).where(IntakeRow.key == key))
        assert row is not None
        return row


def test_a_key_is_recorded_once(stores: list[Store]) -> None:
    first, second = Intake(stores[0]), Intake(stores[1])
    assert first.add("message:C1:1.0", "app_mention", {"event": {"text": "hi"}})
    assert not first.add("message:C1:1.0", "app_mention", {"event": {"text": "hi"}})  # Slack's retry
    assert not second.add("message:C1:1.0", "message.im", {"event": {"text": "hi"}})  # the other replica
    assert first.counts() == {PENDING: 1}


def test_rows_are_claimed_oldest_first_with_their_payload(stores: list[Store]) -> None:
    intake = Intake(stores[0])
    for n in range(5):
        intake.add(f"k{n}", "app_mention", {"n": n, "text": "naïve ✓"})
    first = intake.claim(3)
    assert [w.key for w in first] == ["k0", "k1", "k2"]
    assert first[0].payload == {"n": 0, "text": "naïve ✓"}
    assert all(w.attempts == 1 for w in first)
    assert [w.key for w in intake.claim(10)] == ["k3", "k4"]
    assert intake.claim(10) == []  # all leased


def test_text_no_database_takes_raw_is_stored_and_given_back_intact(stores: list[Store]) -> None:
    intake = Intake(stores[0])
    text = "lone \ud800 surrogate, a NUL \x00 and naïve ✓"
    assert intake.add("k", "app_mention", {"event": {"text": text}})
    [work] = intake.claim(1)
    assert work.payload["event"]["text"] == text


def test_racing_workers_on_two_replicas_claim_each_row_once(stores: list[Store]) -> None:
    intakes = [Intake(stores[0]), Intake(stores[1])]
    for n in range(60):
        intakes[0].add(f"k{n}", "app_mention", {"n": n})
    start = threading.Barrier(6)
    taken: list[str] = []
    lock = threading.Lock()

    def work(intake: Intake) -> None:
        start.wait()
        while claimed := intake.claim(4):
            with lock:
                taken.extend(w.key for w in claimed)

    threads = [threading.Thread(target=work, args=(intakes[i % 2],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == sorted(f"k{n}" for n in range(60))  # every row, none twice


class Clock:
    """The wall clock both replicas read, moved by the test: a lease then runs out exactly when the test
    says, however long a claim takes on a loaded machine."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


def test_a_dead_workers_lease_runs_out_and_the_row_is_taken_again(stores: list[Store]) -> None:
    clock = Clock()
    crashed = Intake(stores[0], lease_seconds=30, clock=clock)
    survivor = Intake(stores[1], lease_seconds=30, clock=clock)
    crashed.add("message:C1:2.0", "app_mention", {"n": 1})
    [work] = crashed.claim(1)  # ... and the process dies without finishing
    assert survivor.claim(1) == []  # within the lease: someone is on it
    clock.now += 29
    assert survivor.claim(1) == []  # still within it, a second before it runs out
    clock.now += 1
    [again] = survivor.claim(1)  # run out: taken again
    assert again.key == work.key and again.attempts == 2
    survivor.finish(again)
    clock.now += 60
    assert survivor.claim(1) == [] and crashed.claim(1) == []  # finished: never again
    assert not crashed.add("message:C1:2.0", "app_mention", {"n": 1})


def test_renewing_keeps_a_long_job_from_being_taken(stores: list[Store]) -> None:
    clock = Clock()
    worker = Intake(stores[0], lease_seconds=30, clock=clock)
    other = Intake(stores[1], lease_seconds=30, clock=clock)
    worker.add("k", "app_mention", {})
    [work] = worker.claim(1)
    for _ in range(4):  # far past the first lease, renewed before each one runs out
        clock.now += 20
        assert worker.renew([work.id]) == 1
        assert other.claim(1) == []
    assert other.renew([work.id]) == 0  # only the owner renews
    clock.now += 30  # the renewals stop (the worker died): the last lease runs out
    [taken] = other.claim(1)
    assert taken.key == "k" and taken.attempts == 2


def test_a_row_handed_back_at_shutdown_is_taken_at_once_by_another_replica(stores: list[Store]) -> None:
    stopping = Intake(stores[0], lease_seconds=300)
    other = Intake(stores[1], lease_seconds=300)
    stopping.add("message:C1:3.0", "app_mention", {"n": 1})
    [work] = stopping.claim(1)
    assert other.claim(1) == []
    assert other.hand_back([work.id]) == 0  # only the owner hands back
    assert stopping.hand_back([work.id]) == 1
    [again] = other.claim(1)  # no waiting for the 300 s lease
    assert again.key == work.key and again.attempts == 1  # the interrupted try is not counted


def test_a_finished_row_keeps_its_key_but_forgets_the_question(stores: list[Store]) -> None:
    intake = Intake(stores[0])
    intake.add("k", "app_mention", {"event": {"text": "my private question"}})
    [work] = intake.claim(1)
    intake.finish(work)
    row = _row(stores[0], "k")
    assert row.state == DONE and row.payload == "" and row.done_at is not None


def test_a_failing_row_is_retried_later_then_set_aside(stores: list[Store]) -> None:
    intake = Intake(stores[0], max_attempts=2)
    intake.add("k", "app_mention", {"n": 1})
    [work] = intake.claim(1)
    assert intake.retry_later(work, delay=0.0)
    [again] = intake.claim(1)
    assert again.attempts == 2
    assert not intake.retry_later(again, delay=0.0)  # the limit
    assert intake.claim(1) == []
    assert _row(stores[0], "k").state == FAILED


def test_a_row_retried_later_waits_for_its_delay(stores: list[Store]) -> None:
    intake = Intake(stores[0])
    intake.add("k", "app_mention", {})
    [work] = intake.claim(1)
    intake.retry_later(work, delay=3600)
    assert intake.claim(1) == []


def test_old_finished_rows_are_pruned_and_pending_ones_kept(stores: list[Store]) -> None:
    intake = Intake(stores[0])
    intake.add("done", "app_mention", {})
    intake.add("waiting", "app_mention", {})
    [work, _] = intake.claim(2)
    intake.finish(work)
    assert intake.prune(older_than_seconds=3600) == 0  # recent: kept, so retries stay deduplicated
    assert intake.prune(older_than_seconds=-1) == 1  # (everything counts as old) but never pending work
    assert intake.counts() == {PENDING: 1}
    assert intake.add("done", "app_mention", {})  # forgotten


def test_workers_renew_their_leases_while_every_thread_is_busy(stores: list[Store]) -> None:
    from bot.store.workers import Workers

    mine, other = Intake(stores[0], lease_seconds=0.6), Intake(stores[1], lease_seconds=0.6)
    mine.add("long", "app_mention", {})
    mine.add("queued", "app_mention", {})  # waits: the one thread is busy
    started, release, ran = threading.Event(), threading.Event(), []

    def run(work) -> None:  # type: ignore[no-untyped-def]
        ran.append(work.key)
        started.set()
        assert release.wait(30)

    workers = Workers(mine, run, threads=1, poll_seconds=0.05)
    workers.start()
    try:
        assert started.wait(30)
        until = time.monotonic() + 2.0  # more than three leases
        while time.monotonic() < until:
            assert [w.key for w in other.claim(1)] in ([], ["queued"]), "a busy worker's row was taken over"
            time.sleep(0.1)
    finally:
        release.set()
        workers.stop()
    assert ran[0] == "long" and ran.count("long") == 1


def test_work_that_cannot_succeed_is_set_aside_at_once_and_transient_failures_are_retried(
    stores: list[Store]
) -> None:
    from bot.store.workers import Workers

    intake = Intake(stores[0])
    intake.add("malformed", "app_mention", {"event": None})
    intake.add("slack-down", "app_mention", {"event": {}})
    tries: list[str] = []
    second_try = threading.Event()

    def run(work) -> None:  # type: ignore[no-untyped-def]
        tries.append(work.key)
        if work.key == "malformed":
            raise KeyError("channel")
        if work.attempts == 1:
            raise ConnectionError("Slack is unreachable")
        second_try.set()

    workers = Workers(intake, run, threads=2, poll_seconds=0.05,
                      retryable=lambda error: isinstance(error, ConnectionError))
    workers.start()
    try:
        assert second_try.wait(30)  # retried after its delay (1 s)
        assert workers.wait_idle(30)
    finally:
        workers.stop()
    assert tries.count("malformed") == 1 and tries.count("slack-down") == 2
    assert _row(stores[0], "malformed").state == FAILED
    assert _row(stores[0], "slack-down").state == DONE
