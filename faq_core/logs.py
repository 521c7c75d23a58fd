"""Logging set-up shared by the CLI and the bot, with secrets masked.

Whatever a library or our own code logs, a value that is one of the
configured secrets is replaced by ``***`` before it reaches a handler.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable


class SecretFilter(logging.Filter):
    """Replaces every configured secret in a record's message and arguments."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            masked = message
            for secret in self.secrets:
                masked = masked.replace(secret, "***")
            if masked != message:
                record.msg, record.args = masked, None
        return True


def setup_logging(level: str, secrets: Iterable[str] = ()) -> None:
    """Log to stderr at ``level``, masking ``secrets``; quiet noisy libraries
    (their progress bars included: a bot's log is not a terminal)."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")  # read when datasets is first imported
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
    for noisy in ("urllib3", "datasets", "huggingface_hub", "sentence_transformers", "filelock", "fsspec"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
