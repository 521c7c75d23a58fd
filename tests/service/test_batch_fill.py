"""Under a burst the batches fill: the workers take as many intake rows as one
batch can hold (``INTAKE_IN_MEMORY``), and a busy batcher waits a moment for
a batch to fill, while a question asked alone is answered at once.
Batch sizes are counted by a recording engine; nothing here is timed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from bot.conversation.answering import Answerer
from bot.conversation.batching import QuestionBatcher
from bot.settings import BotSettings
from bot.store.database import Store
from bot.store.intake import DONE, Intake, Work
from bot.store.workers import Workers
from faq_core.answer import Answer
from faq_core.engine import FAQEngine

OLD_IN_MEMORY = 16  # what the workers held before it was a setting


class RecordingEngine(FAQEngine):
    """The engine, counting the questions of each ``answer_many`` call and holding calls until released."""

    def __init__(self, inner: FAQEngine) -> None:
        super().__init__(inner.index, inner.embedder)
        self.sizes: list[int] = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def answer_many(self, texts: Sequence[str], k: int = 3) -> list[Answer]:
        self.sizes.append(len(texts))
        self.entered.set()
        assert self.release.wait(30)
        return super().answer_many(texts, k)


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.005)


def test_a_burst_from_the_intake_is_answered_in_batches_as_large_as_the_setting(
        store: Store, engine: FAQEngine) -> None:
    in_memory = BotSettings().intake_in_memory
    assert in_memory > OLD_IN_MEMORY
    recording = RecordingEngine(engine)
    answerer = Answerer(recording, max_batch=in_memory)
    intake = Intake(store)
    burst = 3 * in_memory
    for n in range(burst):
        intake.add(f"q{n}", "question", {"text": f"I lost my Medicare card (ref {n})"})
    answered: list[str] = []
    lock = threading.Lock()

    def run(work: Work) -> None:
        answer = answerer.batcher.answer(work.payload["text"])
        with lock:
            answered.append(answer.best.faq_id if answer.best else "")

    workers = Workers(intake, run, threads=in_memory, poll_seconds=0.05)
    workers.start()
    try:
        assert recording.entered.wait(30)  # the first batch is held in the engine...
        # ...while every other row the workers hold queues for the next one
        _until(lambda: answerer.batcher._pending.qsize() == in_memory - recording.sizes[0], "the workers' rows")
        recording.release.set()
        assert workers.wait_idle(60)
    finally:
        workers.stop()
        answerer.batcher.close()
    assert sum(recording.sizes) == burst and len(answered) == burst
    assert set(answered) == {"replacement-card"}
    # the first batch held, the second took every other row in memory (and maybe rows the first batch's
    # workers took next, while it filled): one of the two is over the old limit
    assert recording.sizes[0] + recording.sizes[1] >= in_memory, recording.sizes
    assert max(recording.sizes) > OLD_IN_MEMORY, recording.sizes
    assert intake.counts() == {DONE: burst}


def test_a_busy_batcher_waits_for_its_batch_to_fill(engine: FAQEngine) -> None:
    recording = RecordingEngine(engine)
    batcher = QuestionBatcher(recording, max_batch=2, linger=60)
    first = batcher.submit("What is TRICARE?")
    assert recording.entered.wait(30)
    second = batcher.submit("Can I cancel Part B?")  # waiting when the first batch ends: the batcher is busy
    recording.release.set()
    assert first.result(30).best is not None
    _until(lambda: batcher._pending.empty(), "the batcher to take the second question")
    third = batcher.submit("How much is Part B each month?")  # arrives while the second batch waits to fill
    assert second.result(30).best is not None and third.result(30).best is not None
    assert recording.sizes == [1, 2]
    batcher.close()


def test_a_question_asked_alone_is_answered_at_once(engine: FAQEngine) -> None:
    recording = RecordingEngine(engine)
    recording.release.set()
    batcher = QuestionBatcher(recording, linger=600)
    try:
        for question in ["What is TRICARE?", "Can I cancel Part B?"]:  # one after the other: never busy
            assert batcher.submit(question).result(30).best is not None
    finally:
        batcher.close()
    assert recording.sizes == [1, 1]
