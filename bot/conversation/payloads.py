"""What a button carries: a compact reference to the answer it belongs to.

Slack gives a clicked button's ``value`` (at most 2,000 characters) back to
the app, and for ephemeral messages nothing else about the message. So every
button of an answer carries an :class:`AnswerRef`: an id for the answer (one
vote per user per answer), the question, and the matched FAQ ids with their
scores. With the index, that is enough to re-draw the answer after a vote, to
share it in the channel, or to show a "Did you mean…?" FAQ, without asking the
engine again.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace

from faq_core.answer import Answer, Match, Outcome
from faq_core.index import FAQIndex

MAX_VALUE_CHARS = 2000  # Slack's limit for a button value


def new_answer_id() -> str:
    """A fresh id for one answer shown to people."""
    return uuid.uuid4().hex[:16]


@dataclass(frozen=True)
class AnswerRef:
    """The parts of an :class:`Answer` a button needs, plus the answer's id.

    ``picked`` marks an FAQ someone chose from "Did you mean…?" (shown as
    chosen, not as the engine's answer); ``pick`` on a suggestion button names
    the FAQ it stands for.
    """

    answer_id: str
    query: str
    matches: tuple[tuple[str, float], ...]
    answered: bool
    threshold: float
    truncated: bool = False
    picked: bool = False
    pick: str | None = None
    cosine: float | None = None  # raw cosine of the top match, for the details line

    @classmethod
    def from_answer(cls, answer: Answer) -> AnswerRef:
        """A reference to ``answer`` under a new answer id."""
        return cls(
            answer_id=new_answer_id(),
            query=answer.query,
            matches=tuple((m.faq_id, round(m.score, 6)) for m in answer.matches),
            answered=answer.answered,
            threshold=answer.threshold,
            truncated=answer.truncated,
            cosine=None if answer.best is None or answer.best.cosine is None else round(answer.best.cosine, 4),
        )

    def picking(self, faq_id: str) -> AnswerRef:
        """The value of the "Did you mean…?" button for ``faq_id``."""
        return replace(self, pick=faq_id)

    def chosen(self) -> AnswerRef:
        """The answer that a click on this suggestion button shows: the picked
        FAQ alone, under a new answer id."""
        score = dict(self.matches).get(self.pick or "", 0.0)
        return AnswerRef(
            answer_id=new_answer_id(), query=self.query, matches=((self.pick or "", score),),
            answered=False, threshold=self.threshold, truncated=self.truncated, picked=True,
        )

    def reissued(self) -> AnswerRef:
        """The same answer under a new id (a shared copy collects its own votes)."""
        return replace(self, answer_id=new_answer_id(), pick=None)

    @property
    def faq_id(self) -> str | None:
        """The FAQ this answer presents (the best match), if any."""
        return self.matches[0][0] if self.matches else None

    @property
    def score(self) -> float | None:
        """The readable match score of :attr:`faq_id`."""
        return self.matches[0][1] if self.matches else None

    def encode(self) -> str:
        """The button value: compact JSON within Slack's 2,000 characters.

        What does not fit is shortened, least useful first: the question (it
        is only shown back), then the trailing matches (only the first is
        needed to re-draw an answer). Every step shrinks the value, so this
        always ends; the first match, the answer id and ``pick`` are
        never dropped, and together they are far below the limit (FAQ ids
        have at most 128 characters)."""
        query, matches = self.query, list(self.matches)
        while True:
            value = self._json(query, matches)
            excess = len(value) - MAX_VALUE_CHARS
            if excess <= 0:
                return value
            if query and query != "…":
                keep = max(0, len(query) - excess - 8)
                query = query[:keep] + "…" if keep else "…"
            elif len(matches) > 1:
                matches.pop()
            else:
                raise ValueError(f"an answer reference cannot fit in {MAX_VALUE_CHARS} characters")

    def _json(self, query: str, matches: list[tuple[str, float]]) -> str:
        data: dict[str, object] = {"a": self.answer_id, "q": query, "m": [list(m) for m in matches],
                                   "ok": int(self.answered), "t": self.threshold}
        if self.truncated:
            data["x"] = 1
        if self.picked:
            data["p"] = 1
        if self.pick is not None:
            data["f"] = self.pick
        if self.cosine is not None:
            data["c"] = self.cosine
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def decode(cls, value: str) -> AnswerRef:
        """Parse a button value. Raises ``ValueError`` if it is not one of ours."""
        try:
            data = json.loads(value)
            return cls(
                answer_id=str(data["a"]),
                query=str(data["q"]),
                matches=tuple((str(faq), float(score)) for faq, score in data["m"]),
                answered=bool(data["ok"]),
                threshold=float(data["t"]),
                truncated=bool(data.get("x")),
                picked=bool(data.get("p")),
                pick=str(data["f"]) if "f" in data else None,
                cosine=float(data["c"]) if "c" in data else None,
            )
        except (TypeError, KeyError, ValueError) as error:
            raise ValueError(f"not an answer reference: {error}") from None

    def to_answer(self, index: FAQIndex) -> Answer | None:
        """The :class:`Answer` again, its FAQ texts taken from ``index``;
        None if its FAQ is not in the index any more."""
        matches = []
        for position, (faq_id, score) in enumerate(self.matches):
            faq = index.faq_by_id(faq_id)
            if faq is None and position == 0:
                return None  # the answer itself is gone: never promote another match in its place
            if faq is not None:
                matches.append(Match(faq_id=faq.id, question=faq.question, answer=faq.answer, url=faq.url,
                                     score=score, matched_text=faq.question, tags=faq.tags,
                                     cosine=self.cosine if position == 0 else None))
        if not matches:
            return None
        outcome = Outcome.ANSWERED if self.answered else Outcome.NO_MATCH
        return Answer(query=self.query, matches=tuple(matches), outcome=outcome,
                      confidence=matches[0].score, threshold=self.threshold, truncated=self.truncated)
