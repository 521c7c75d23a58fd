"""The log's secret filter: a configured token never reaches the log, whether
it is in the message, its arguments, or an exception logged with it."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from collections.abc import Iterator
from datetime import datetime

import pytest

from faq_core.logs import setup_logging

TOKEN = "xoxb-1234-5678-abcdefSECRET"


@pytest.fixture(params=["text"])
def output(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """What ``setup_logging``'s handler writes (redirected from stderr to a
    buffer) in the format of the parameter; the root logger is restored afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    hooks = sys.excepthook, threading.excepthook
    setup_logging("INFO", [TOKEN], request.param)
    buffer = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    try:
        yield buffer
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        sys.excepthook, threading.excepthook = hooks


log = logging.getLogger("faq_bot.test")


def _failing_call(token: str) -> None:
    raise RuntimeError(f"the server refused Authorization: Bearer {token}")


def test_a_token_in_a_logged_traceback_is_masked(output: io.StringIO) -> None:
    try:
        _failing_call(TOKEN)
    except RuntimeError:
        log.exception("posting the reply failed")
    try:
        _failing_call(TOKEN)
    except RuntimeError as error:
        log.error("chained: %s", "context", exc_info=error)
    log.warning("token in the arguments: %s", TOKEN)
    err = output.getvalue()
    assert TOKEN not in err
    assert err.count("Traceback (most recent call last)") == 2
    assert err.count("RuntimeError: the server refused Authorization: Bearer ***") == 2
    assert "token in the arguments: ***" in err


def test_a_message_without_secrets_is_left_alone(output: io.StringIO) -> None:
    try:
        _failing_call("not-a-secret")
    except RuntimeError:
        log.exception("failed with %d retries", 3)
    err = output.getvalue()
    assert "failed with 3 retries" in err and "Bearer not-a-secret" in err


def test_an_uncaught_exception_is_logged_masked(output: io.StringIO) -> None:
    worker = threading.Thread(target=_failing_call, args=(TOKEN,), name="faq-bot-worker-1")
    worker.start()
    worker.join()
    try:
        _failing_call(TOKEN)
    except RuntimeError as error:
        sys.excepthook(type(error), error, error.__traceback__)  # what Python calls for the main thread
    err = output.getvalue()
    assert TOKEN not in err
    assert "ERROR faq_bot.uncaught: uncaught RuntimeError in thread faq-bot-worker-1" in err
    assert "CRITICAL faq_bot.uncaught: uncaught RuntimeError" in err
    assert err.count("RuntimeError: the server refused Authorization: Bearer ***") == 2


@pytest.mark.parametrize("output", ["json"], indirect=True)
def test_json_logs_are_one_object_per_line_with_the_question_fields_and_masked_secrets(output: io.StringIO) -> None:
    log.info("answered=%s faq=%s", True, "card", extra={"question_id": "event:Ev1", "outcome": "answered",
                                                       "latency_ms": 12.5, "platform": "slack"})
    log.warning("token in the arguments: %s\nand a second line", TOKEN)
    try:
        _failing_call(TOKEN)
    except RuntimeError:
        log.exception("posting the reply failed")
    lines = output.getvalue().splitlines()
    assert len(lines) == 3  # a multi-line message or a traceback stays on its record's line
    first, second, third = (json.loads(line) for line in lines)
    assert first["message"] == "answered=True faq=card" and first["level"] == "INFO"
    assert first["logger"] == "faq_bot.test"
    assert (first["question_id"], first["outcome"], first["latency_ms"], first["platform"]) == (
        "event:Ev1", "answered", 12.5, "slack")
    assert datetime.fromisoformat(first["time"]).tzinfo is not None
    assert "question_id" not in second and second["message"] == "token in the arguments: ***\nand a second line"
    assert third["level"] == "ERROR" and "RuntimeError: the server refused Authorization: Bearer ***" in third[
        "exception"]
    assert TOKEN not in output.getvalue()
