"""Telling observers what happened, without letting one break the caller.

Metrics, the review loop's recording and readiness listen to the engine, the
Answerer and the Slack client through plain callables. An observer that
raises must never cost a reply: its exception is logged and the next
observer is told anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any


def tell_each(observers: Iterable[Callable[..., Any]], *args: Any, log: logging.Logger, what: str) -> None:
    """Call every observer with ``args``; one that raises is logged as ``what`` failing."""
    for observer in list(observers):
        try:
            observer(*args)
        except Exception:
            log.exception("%s failed; carrying on", what)
