"""Autocomplete for ``/faq``: FAQ questions that fit what the person is typing.

Discord asks on every keystroke, allows at most 25 choices and 3 seconds, and
an autocomplete cannot be deferred: so this is an in-memory lexical match over
every FAQ's question and phrasings, never an embedding call. Each word typed
must start a word of the text (the last one may be half-typed); FAQs whose
texts hold more of the words come first, then those whose question itself
matched, then shorter questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from faq_core.index import FAQIndex

MAX_CHOICES = 25  # Discord's limit
NAME_CHARS = 100  # a choice's name and value
PICK_PREFIX = "faq:"  # a choice's value names the FAQ: faq:<id>

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Lower-cased words of ``text`` (accents and scripts kept)."""
    return _WORD.findall(text.casefold())


@dataclass(frozen=True)
class Suggestion:
    """One choice: the FAQ question shown, and the value Discord sends back."""

    name: str
    value: str


@dataclass(frozen=True)
class _Entry:
    position: int  # FAQ position in the index
    words: tuple[str, ...]
    is_question: bool


class Suggester:
    """Suggestions over one index, built once when the bot starts."""

    def __init__(self, index: FAQIndex) -> None:
        self.index = index
        self._choices = [_choice(faq.id, faq.question) for faq in index.faqs]
        entries = [_Entry(i, tuple(words(faq.question)), True) for i, faq in enumerate(index.faqs)]
        for text, owner in zip(index.texts, index.owner.tolist(), strict=True):
            if text != index.faqs[owner].question:
                entries.append(_Entry(int(owner), tuple(words(text)), False))
        self._entries = entries
        self._lengths = [len(faq.question) for faq in index.faqs]

    def suggest(self, typed: str, limit: int = MAX_CHOICES) -> list[Suggestion]:
        """Up to ``limit`` (≤ 25) FAQ questions fitting ``typed``, best first;
        the first FAQs of the index when nothing is typed yet."""
        limit = min(limit, MAX_CHOICES)
        wanted = words(typed)
        if not wanted:
            return self._choices[:limit]
        *whole, last = wanted
        best: dict[int, tuple[int, int]] = {}
        for entry in self._entries:
            hits = sum(1 for w in whole if w in entry.words) + any(v.startswith(last) for v in entry.words)
            if hits == 0:
                continue
            rank = (hits, int(entry.is_question))
            if rank > best.get(entry.position, (0, -1)):
                best[entry.position] = rank
        ranked = sorted(best, key=lambda p: (-best[p][0], -best[p][1], self._lengths[p], p))
        return [self._choices[p] for p in ranked[:limit]]

    def faq_id_of(self, value: str) -> str | None:
        """The FAQ a picked choice names (None for free text)."""
        if value.startswith(PICK_PREFIX) and self.index.faq_by_id(value[len(PICK_PREFIX):]) is not None:
            return value[len(PICK_PREFIX):]
        return None


def _choice(faq_id: str, question: str) -> Suggestion:
    name = question if len(question) <= NAME_CHARS else question[:NAME_CHARS - 1] + "…"
    value = PICK_PREFIX + faq_id
    if len(value) > NAME_CHARS:  # an id too long to carry: the question, answered like free text
        value = name
    return Suggestion(name=name or faq_id[:NAME_CHARS], value=value)
