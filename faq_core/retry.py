"""Trying a call again after a failure worth another try, with growing pauses, within a bound.

The one retry loop of the project: the HTTP embedders, the Hub's
``head_commit`` and Slack's Web API deliveries all go through :func:`retry`.
Each caller says which failures are worth another try, the bound (seconds in
all, ``budget``, or a number of ``attempts``), how to wait (:class:`Backoff`:
pauses from ``first`` doubling up to ``cap``, optionally jittered so clients
do not retry in step, never shorter than what the service asked for, e.g.
``Retry-After``) and what to raise when it gives up. A failure that is not
worth another try is raised at once, as it is.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Pauses between attempts: ``first`` seconds, doubling up to ``cap``;
    with ``jitter``, a random 50 to 100 % of that."""

    first: float = 0.5
    cap: float = 8.0
    jitter: bool = False

    def pause(self, failed: int) -> float:
        """Seconds to wait after the ``failed``-th failed attempt (1 for the first)."""
        pause = min(self.cap, self.first * 2 ** (failed - 1))
        return pause * random.uniform(0.5, 1.0) if self.jitter else pause


@dataclass(frozen=True)
class Attempt:
    """Which try this is (1 for the first) and how many seconds of the budget are left."""

    number: int
    remaining: float


def retry(call: Callable[[Attempt], T], *, retryable: Callable[[BaseException], bool],
          give_up: Callable[[BaseException, int], BaseException], backoff: Backoff = Backoff(),
          budget: float = float("inf"), attempts: int | None = None,
          asked_wait: Callable[[BaseException], float | None] = lambda error: None,
          on_retry: Callable[[BaseException, int, float], None] = lambda error, attempt, pause: None,
          sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> T:
    """``call(attempt)`` until it returns. A failure ``retryable`` says is
    worth another try is tried again after a pause (the longer of the
    back-off and ``asked_wait(error)``; ``on_retry(error, attempt, pause)`` hears
    of it first), unless that pause would end past ``budget`` seconds from
    the start, or ``attempts`` have been made: then ``give_up(error, attempts
    made)`` is raised, chained to the last failure. Any other failure is
    raised as it is."""
    deadline = clock() + budget
    number = 0
    while True:
        number += 1
        try:
            return call(Attempt(number, deadline - clock()))
        except Exception as error:
            if not retryable(error):
                raise
            pause = backoff.pause(number)
            asked = asked_wait(error)
            if asked is not None:
                pause = max(pause, asked)
            if (attempts is not None and number >= attempts) or clock() + pause > deadline:
                raise give_up(error, number) from error
            on_retry(error, number, pause)
        sleep(pause)
