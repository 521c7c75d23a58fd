"""A Slack event's acknowledgement does not queue behind the workers' writes:
sent over HTTP while a worker write holds the store and others wait for it,
its intake row is committed before theirs, and the 200 comes only after it
is committed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import event, select

from bot.store.database import IntakeRow, Store
from tests.slack.conftest import RunningBot
from tests.stubs.slack_api import BOT_USER_ID
from tests.stubs.slack_payloads import mention, signed_event


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.005)


def test_an_event_is_acknowledged_ahead_of_queued_worker_writes(bot: RunningBot, store: Store) -> None:
    assert store.gate is not None
    bot.settle()
    commits: list[str] = []
    event.listen(store.ack_engine, "commit", lambda _connection: commits.append("ack"))
    hold, holding = threading.Event(), threading.Event()

    def long_worker_write() -> None:
        with store.transaction():
            holding.set()
            assert hold.wait(30)
        commits.append("held")

    def worker_write(n: int) -> None:
        with store.transaction():
            commits.append(f"worker {n}")

    threads = [threading.Thread(target=long_worker_write)]
    threads[0].start()
    assert holding.wait(30)
    for n in range(4):
        threads.append(threading.Thread(target=worker_write, args=(n,)))
        threads[-1].start()
    # (the bot's own dispatcher may queue a claim too)
    _until(lambda: store.gate.waiting()[1] >= 4, "the worker writes to queue")  # type: ignore[union-attr]
    statuses: list[int] = []
    request = signed_event(mention(f"<@{BOT_USER_ID}> I lost my Medicare card"))
    sender = threading.Thread(target=lambda: statuses.append(bot.send(request).status_code))
    sender.start()
    _until(lambda: store.gate.waiting()[0] == 1, "the acknowledgement's insert to queue")  # type: ignore[union-attr]
    assert statuses == []  # not acknowledged while its row is not recorded
    hold.set()
    sender.join(30)
    for thread in threads:
        thread.join(30)
    assert statuses == [200]
    workers_first = [name for name in commits if name.startswith("worker")]
    assert commits.index("ack") < commits.index(workers_first[0]), commits
    with store.engine.connect() as connection:
        assert connection.execute(select(IntakeRow.kind)).scalars().all()
