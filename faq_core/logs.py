"""Logging set-up shared by the CLI and the bot, with secrets masked.

Whatever a library or our own code logs, a value that is one of the
configured secrets is replaced by ``***`` before it reaches a handler, in the
message and in a logged exception's traceback alike. Exceptions nobody caught
(in the main thread or a worker thread) are logged too, so they pass the same
filter instead of being printed by Python.

``LOG_FORMAT=json`` writes one JSON object per line for log shippers:
``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, and, where the
code passed them as ``extra``, ``question_id``, ``outcome`` and
``latency_ms`` (see :data:`JSON_EXTRAS`); an exception's traceback goes in
``exception``. Masking happens before formatting, so both formats are masked.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Fields a log call may add with extra={...}; the JSON format writes those present.
JSON_EXTRAS = ("question_id", "outcome", "latency_ms", "platform")


class SecretFilter(logging.Filter):
    """Replaces every configured secret in a record's message, its arguments,
    and the text of an attached exception or stack (a token in an error
    message or a local URL would otherwise be printed with the traceback)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def mask(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse a record's exc_text rather than formatting exc_info again.
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


_FORMATTER = logging.Formatter()


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines in a message or a
    traceback are escaped by JSON, so a shipper never splits a record)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in JSON_EXTRAS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)
_UNCAUGHT = logging.getLogger("faq_bot.uncaught")


def _log_uncaught(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
    _UNCAUGHT.critical("uncaught %s", kind.__name__, exc_info=(kind, error, trace))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None:
        return
    name = args.thread.name if args.thread is not None else "?"
    _UNCAUGHT.error("uncaught %s in thread %s", args.exc_type.__name__, name,
                    exc_info=(args.exc_type, args.exc_value, args.exc_traceback))


def setup_logging(level: str, secrets: Iterable[str] = (), fmt: str = "text") -> None:
    """Log to stderr at ``level`` in ``fmt`` (``text`` or ``json``), masking
    ``secrets``; quiet noisy libraries (their progress bars included: a bot's
    log is not a terminal)."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")  # read when datasets is first imported
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(SecretFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # An exception nobody caught would be printed by Python itself, past the filter: log it instead.
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
    root.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
    for name, floor in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(floor, root.level))


# Libraries' loggers held at a level: below it they only repeat our own lines or say nothing an operator needs.
QUIET_LOGGERS = {
    **dict.fromkeys(("urllib3", "datasets", "huggingface_hub", "sentence_transformers", "filelock", "fsspec"),
                    logging.WARNING),
    # Plugin set-up and migration steps at every start; bot.store.migrations logs the one line that matters.
    "alembic": logging.WARNING,
    # slack_sdk logs every failed request as ERROR and raises it: the caller's line says what failed and
    # what happens next (start-up stops with one line; a reply is retried), so its own adds nothing.
    "slack_sdk.web.base_client": logging.CRITICAL,
    "slack_sdk.webhook.client": logging.CRITICAL,
}
