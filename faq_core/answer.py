"""The one object that crosses from faq_core to its front ends (CLI, Slack).

An :class:`Answer` says what was asked, which FAQs matched with which true
cosine scores, and whether the engine is confident enough to present the best
match as *the* answer. Front ends only format it; they never re-rank.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """Why an answer looks the way it does."""

    ANSWERED = "answered"  # the best match reached the threshold
    NO_MATCH = "no_match"  # matches exist but none is good enough
    EMPTY_QUERY = "empty_query"  # nothing to search for: ask the user for a question


@dataclass(frozen=True)
class Match:
    """One FAQ that matched, with the cosine of its best-matching phrasing."""

    faq_id: str
    question: str
    answer: str | None
    url: str | None
    score: float
    matched_text: str
    tags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``faq-bot ask --json``."""
        return {
            "faq_id": self.faq_id,
            "question": self.question,
            "answer": self.answer,
            "url": self.url,
            "score": self.score,
        }


@dataclass(frozen=True)
class Answer:
    """What the engine says about one query.

    ``confidence`` is what is compared with ``threshold`` (``answered`` is
    exactly ``confidence >= threshold``); ``matches[i].score`` is the plain
    cosine shown to users.
    """

    query: str
    matches: tuple[Match, ...]
    outcome: Outcome
    confidence: float
    threshold: float
    truncated: bool = False

    @property
    def answered(self) -> bool:
        """True when the best match may be presented as the answer."""
        return self.outcome is Outcome.ANSWERED

    @property
    def best(self) -> Match | None:
        """The top match, whether or not it is confident."""
        return self.matches[0] if self.matches else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``faq-bot ask --json`` (one object per query)."""
        return {
            "query": self.query,
            "answered": self.answered,
            "matches": [m.to_dict() for m in self.matches],
        }
