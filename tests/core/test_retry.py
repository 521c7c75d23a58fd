"""The one retry loop: pauses double up to the cap (jittered when asked, never
shorter than what the service asked for), the budget or the number of
attempts bounds it, a failure not worth another try is raised at once, and
giving up raises the caller's error chained to the last failure. Waiting is
injected, so the pauses are observed exactly."""

from __future__ import annotations

import pytest

from faq_core.retry import Attempt, Backoff, retry
from tests.core.conftest import FakeTime


class Flaky(Exception):
    def __init__(self, wait: float | None = None) -> None:
        super().__init__("flaky")
        self.wait = wait


class GaveUp(Exception):
    pass


def failing(times: int, error: type[Exception] = Flaky, result: str = "done"):  # type: ignore[no-untyped-def]
    """A call that fails ``times`` times, then returns ``result``; it records its attempts."""
    seen: list[Attempt] = []

    def call(attempt: Attempt) -> str:
        seen.append(attempt)
        if len(seen) <= times:
            raise error()
        return result

    return call, seen


def run(call, fake: FakeTime, **options):  # type: ignore[no-untyped-def]
    return retry(call, retryable=lambda error: isinstance(error, Flaky),
                 give_up=lambda error, attempts: GaveUp(f"gave up after {attempts}"),
                 sleep=fake.sleep, clock=fake.clock, **options)


def test_pauses_double_up_to_the_cap_and_the_call_gets_its_number_and_what_is_left() -> None:
    fake = FakeTime()
    call, seen = failing(5)
    assert run(call, fake, backoff=Backoff(first=0.5, cap=3.0), budget=100) == "done"
    assert fake.sleeps == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert [a.number for a in seen] == [1, 2, 3, 4, 5, 6]
    assert [a.remaining for a in seen] == [100, 99.5, 98.5, 96.5, 93.5, 90.5]


def test_jitter_takes_half_to_all_of_each_pause() -> None:
    fake = FakeTime()
    call, _ = failing(4)
    run(call, fake, backoff=Backoff(first=1.0, cap=8.0, jitter=True), budget=100)
    for pause, full in zip(fake.sleeps, [1.0, 2.0, 4.0, 8.0], strict=True):
        assert full / 2 <= pause <= full


def test_what_the_service_asked_for_is_waited_when_it_is_longer() -> None:
    fake = FakeTime()
    errors = iter([Flaky(wait=5.0), Flaky(wait=0.1)])

    def call(attempt: Attempt) -> str:
        if attempt.number <= 2:
            raise next(errors)
        return "done"

    run(call, fake, backoff=Backoff(first=0.5), budget=100, asked_wait=lambda error: getattr(error, "wait", None))
    assert fake.sleeps == [5.0, 1.0]


def test_the_budget_ends_it_before_a_pause_that_would_overrun_it() -> None:
    fake = FakeTime()
    call, seen = failing(100)
    heard: list[tuple[int, float]] = []
    with pytest.raises(GaveUp, match="gave up after 4") as caught:
        run(call, fake, backoff=Backoff(first=1.0, cap=8.0), budget=10,
            on_retry=lambda error, attempt, pause: heard.append((attempt, pause)))
    assert fake.sleeps == [1.0, 2.0, 4.0] and sum(fake.sleeps) <= 10  # the next pause (8 s) would end past 10 s
    assert heard == [(1, 1.0), (2, 2.0), (3, 4.0)] and len(seen) == 4
    assert isinstance(caught.value.__cause__, Flaky)


def test_a_number_of_attempts_ends_it_without_a_last_pause() -> None:
    fake = FakeTime()
    call, seen = failing(100)
    with pytest.raises(GaveUp, match="gave up after 3"):
        run(call, fake, backoff=Backoff(first=0.5, cap=1.0), attempts=3)
    assert len(seen) == 3 and fake.sleeps == [0.5, 1.0]


def test_a_failure_not_worth_another_try_is_raised_at_once_as_it_is() -> None:
    fake = FakeTime()
    call, seen = failing(1, error=KeyError)
    with pytest.raises(KeyError):
        run(call, fake, budget=100)
    assert len(seen) == 1 and fake.sleeps == []
