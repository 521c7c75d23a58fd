"""The fuzz corpus of the hostile-input review: 2,000 malformed requests from a fixed seed,
signed and unsigned, sent over real sockets to the bot in HTTP mode. None
may get a 5xx or no answer at all, none may leave a traceback (in the log or
on stderr), and the bot must still answer a normal mention afterwards."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot import messages
from bot.slack.http_server import Limits
from bot.slack.settings import SlackSettings
from bot.store.database import Store
from faq_core.engine import FAQEngine
from tests.slack.conftest import RunningBot, start_bot, stop_bot
from tests.stubs.hostile import corpus, exchange, status_of
from tests.stubs.slack_api import BOT_USER_ID, SlackAPIStub
from tests.stubs.slack_payloads import mention, signed_event

CORPUS_SIZE = 2000
SEED = 8
CLIENTS = 16
# Requests whose body never completes wait out the body deadline: keep it short here.
FAST = Limits(header_timeout=1.0, body_timeout=0.5, keep_alive=1.0)


@pytest.fixture()
def fast_bot(settings: SlackSettings, engine: FAQEngine, store: Store) -> Iterator[RunningBot]:
    running = start_bot(settings, engine, store, limits=FAST)
    yield running
    stop_bot(running)


def test_two_thousand_malformed_requests_get_no_5xx_no_traceback_and_the_bot_still_answers(
    fast_bot: RunningBot, slack_api: SlackAPIStub, caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    bot = fast_bot
    caplog.set_level(logging.INFO)
    cases = list(corpus(CORPUS_SIZE, seed=SEED, response_url=slack_api.response_url("fuzz")))
    with ThreadPoolExecutor(CLIENTS) as clients:
        results = list(clients.map(lambda case: status_of(exchange(bot.server.port, case.data)), cases))
    statuses: Counter[int | None] = Counter(results)
    outcomes = enumerate(zip(cases, results, strict=True))
    failures = [f"#{number} {case.name}: {status}" for number, (case, status) in outcomes
                if status is None or status >= 500]
    assert not failures, f"{len(failures)} requests got a 5xx or no response: {failures[:20]}"
    assert sum(statuses.values()) == CORPUS_SIZE
    assert set(statuses) <= {200, 400, 401, 404, 408, 413}, statuses

    question = f"<@{BOT_USER_ID}> I lost my Medicare card, what do I do?"
    assert bot.send(signed_event(mention(question))).status_code == 200
    answered = slack_api.wait_for(lambda calls: any(
        "How do I get a replacement Medicare card?" in str(c.params.get("text")) for c in calls))
    assert answered

    tracebacks = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not tracebacks, [f"{r.name}: {r.getMessage()[:200]}" for r in tracebacks[:5]]
    assert "Traceback" not in capfd.readouterr().err
    sorry = [c for c in slack_api.replies() if messages.INTERNAL_ERROR in str(c.params.get("text"))]
    assert not sorry
