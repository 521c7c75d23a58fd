"""Questions that arrive together are embedded together.

When a channel gets busy, several workers ask at once. One model call for
all of them costs little more than a call for one, while separate calls fight
over the same CPU cores (and slow the acknowledgements Slack is waiting for).
:class:`QuestionBatcher` lets each worker ask as if alone, but hands the
questions waiting at that moment to ``FAQEngine.answer_many`` in one go. A
question asked alone is answered at once: nothing waits for a batch to fill.
Only while it is busy (the last batch ended with questions already waiting)
does it wait up to ``linger`` seconds for the batch to fill: the questions
of a burst arrive a few at a time as workers take them, and one call for
many costs less per question than several calls for a few.
When a batch fails for a reason other than the service being down (a
question the model or the service cannot take), its questions are asked
again one at a time, so one bad question fails only its own reply.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future

from bot.serving.holder import ServingEngine
from faq_core.answer import Answer
from faq_core.engine import FAQEngine
from faq_core.errors import SERVICE_ERRORS

log = logging.getLogger(__name__)

MAX_BATCH = 32  # without a setting; the embedders split what they send into their own request limits
LINGER_SECONDS = 0.004  # while busy, how long a batch may wait to fill: a fraction of one batch's cost


class QuestionBatcher:
    """Answers questions from many threads, batching those asked at the same time."""

    def __init__(self, engine: FAQEngine | ServingEngine, *, k: int = 3, max_batch: int = MAX_BATCH,
                 linger: float = LINGER_SECONDS) -> None:
        self.engine = engine
        self.k = k
        self.max_batch = max(max_batch, 1)
        self.linger = linger
        self._pending: queue.SimpleQueue[tuple[str, Future[Answer]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="faq-bot-batcher", daemon=True)
        self._started = False
        self._lock = threading.Lock()

    def answer(self, question: str) -> Answer:
        """The engine's answer to ``question``; raises what the engine raises."""
        return self.submit(question).result()

    def submit(self, question: str) -> Future[Answer]:
        """Queue ``question``; the future holds its answer (or the engine's error)."""
        with self._lock:
            if not self._started:
                self._thread.start()
                self._started = True
        future: Future[Answer] = Future()
        self._pending.put((question, future))
        return future

    def close(self) -> None:
        """Stop the batching thread once the questions already asked are answered."""
        self._pending.put(None)

    def _run(self) -> None:
        busy = False  # questions were waiting when the last batch ended
        while True:
            first = self._pending.get()
            if first is None:
                return
            batch = [first]
            stop = False
            deadline = time.monotonic() + self.linger if busy else 0.0
            while len(batch) < self.max_batch:
                try:
                    wait = deadline - time.monotonic()
                    item = self._pending.get(timeout=wait) if wait > 0 else self._pending.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._answer(batch)
            if stop:
                return
            busy = not self._pending.empty()

    def _answer(self, batch: list[tuple[str, Future[Answer]]]) -> None:
        try:
            # one engine answers the whole batch, even if a reload swaps it meanwhile
            answers = self.engine.answer_many([question for question, _ in batch], self.k)
        except BaseException as error:
            if len(batch) > 1 and not isinstance(error, SERVICE_ERRORS):
                # maybe one bad question: ask again one by one, so it fails alone
                log.warning("a batch of %d questions failed (%s); answering them one at a time",
                            len(batch), type(error).__name__)
                for item in batch:
                    self._answer([item])
                return
            for _, future in batch:  # every asker gets the failure; the thread carries on
                future.set_exception(error)
            return
        if len(batch) > 1:
            log.debug("answered %d questions in one batch", len(batch))
        for (_, future), answer in zip(batch, answers, strict=True):
            future.set_result(answer)
