"""The one object that crosses from faq_core to its front ends (the command line, the bots).

An :class:`Answer` says what was asked, which FAQs matched, and whether the
engine is confident enough to present the best match as *the* answer. Each
match carries one readable score (0 to 1, shown as a percentage): it orders the
list, and the top match's score *is* the confidence compared with the
threshold, so the number people see is the one that decided. The raw cosine of
the FAQ's best phrasing travels along for ``--json`` and details lines. Front
ends only format an answer; they never re-rank or recompute a number, and
every one of them shows a match's score as :attr:`Match.score_label` says.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """Why an answer looks the way it does."""

    ANSWERED = "answered"  # the best match reached the threshold
    AMBIGUOUS = "ambiguous"  # the top two together reach the threshold, near-tied: show both
    NO_MATCH = "no_match"  # matches exist but none is good enough
    EMPTY_QUERY = "empty_query"  # nothing to search for: ask the user for a question


# "Did you mean" offers a match only if its score reaches this share of the
# threshold: a 6% match is noise, not a suggestion.
SUGGESTION_FLOOR = 0.5
# How a match's score is shown to people, by the CLI, Slack and Discord alike.
# It is the share of the bot's confidence that goes to that FAQ, so a runner-up
# close in wording (cosine 0.6) can rightly show "<1% confidence": a bare "0%"
# would read as "unrelated".
SCORE_LABEL = "{percent} confidence"


@dataclass(frozen=True)
class Match:
    """One FAQ that matched: its readable ``score`` (0..1, orders the list)
    and the raw ``cosine`` of its best-matching phrasing (None when unknown,
    e.g. redrawn from an old button)."""

    faq_id: str
    question: str
    answer: str | None
    url: str | None
    score: float
    matched_text: str
    tags: tuple[str, ...] = ()
    cosine: float | None = None

    @property
    def percent(self) -> str:
        """The score as a percentage: ``73%``; ``<1%`` for a score that is not
        zero but rounds to it."""
        if 0 < self.score < 0.005:
            return "<1%"
        return f"{self.score * 100:.0f}%"

    @property
    def score_label(self) -> str:
        """The score as people see it beside an FAQ, everywhere: ``73% confidence``
        (see :data:`SCORE_LABEL`)."""
        return SCORE_LABEL.format(percent=self.percent)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``faq-bot ask --json``."""
        return {
            "faq_id": self.faq_id,
            "question": self.question,
            "answer": self.answer,
            "url": self.url,
            "score": self.score,
            "cosine": self.cosine,
        }


@dataclass(frozen=True)
class Answer:
    """What the engine says about one query.

    ``confidence`` is what is compared with ``threshold`` (``answered`` is
    exactly ``confidence >= threshold``) and equals ``matches[0].score``.
    ``threshold_source`` says where the threshold came from (``FAQ_MIN_SCORE``,
    ``calibration``, ``automatic``). Outcome ``AMBIGUOUS`` marks an answer
    whose top FAQ alone falls short but whose top two, near-tied, together
    reach the threshold: front ends show both ("one of these?").
    """

    query: str
    matches: tuple[Match, ...]
    outcome: Outcome
    confidence: float
    threshold: float
    truncated: bool = False
    threshold_source: str = ""

    @property
    def answered(self) -> bool:
        """True when the best match may be presented as the answer."""
        return self.outcome is Outcome.ANSWERED

    @property
    def best(self) -> Match | None:
        """The top match, whether or not it is confident."""
        return self.matches[0] if self.matches else None

    @property
    def ambiguous(self) -> bool:
        """True when the top two FAQs are offered together ("one of these?")."""
        return self.outcome is Outcome.AMBIGUOUS

    @property
    def contenders(self) -> tuple[Match, ...]:
        """The near-tied FAQs of an ambiguous answer (the top two), else ()."""
        return self.matches[:2] if self.ambiguous else ()

    def suggestions(self, limit: int = 3) -> tuple[Match, ...]:
        """Matches worth offering as "Did you mean...?": up to ``limit`` whose
        score reaches ``SUGGESTION_FLOOR`` of the threshold."""
        floor = SUGGESTION_FLOOR * self.threshold
        return tuple(m for m in self.matches[:limit] if m.score >= floor)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``faq-bot ask --json`` (one object per query)."""
        return {
            "query": self.query,
            "answered": self.answered,
            "matches": [m.to_dict() for m in self.matches],
            "confidence": self.confidence,
            "threshold": self.threshold,
            "threshold_source": self.threshold_source,
            "outcome": self.outcome.value,
        }
