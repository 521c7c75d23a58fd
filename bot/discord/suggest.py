"""Autocomplete for ``/faq``: FAQ questions that fit what the person is typing.

Discord asks on every keystroke, allows at most 25 choices and 3 seconds, and
an autocomplete cannot be deferred: so this is an in-memory lexical match over
every FAQ's question and phrasings, never an embedding call. Each word typed
counts where an FAQ's question or phrasings hold it (the last one,
maybe half-typed, where they hold a word starting with it); FAQs matching
more of the words come first, then those whose question itself matched
them, then shorter questions.
"""

from __future__ import annotations

import heapq
import re
from bisect import bisect_left
from collections import Counter, defaultdict
from dataclasses import dataclass

from bot.serving.holder import Companion
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


class Suggester:
    """Suggestions over one index, built once when the bot starts: an inverted
    index from each word to the FAQs whose question or phrasings hold it, so
    a keystroke costs the FAQs that share a word with it, not a scan of all."""

    def __init__(self, index: FAQIndex) -> None:
        self.index = index
        self._choices = [_choice(faq.id, faq.question) for faq in index.faqs]
        in_question: dict[str, set[int]] = defaultdict(set)
        anywhere: dict[str, set[int]] = defaultdict(set)
        for position, faq in enumerate(index.faqs):
            for word in words(faq.question):
                in_question[word].add(position)
        for text, owner in zip(index.texts, index.owner.tolist(), strict=True):
            for word in words(text):
                anywhere[word].add(int(owner))
        for word, positions in in_question.items():
            anywhere[word] |= positions
        self._anywhere = dict(anywhere)
        self._in_question = dict(in_question)
        self._vocabulary = sorted(anywhere)
        self._lengths = [len(faq.question) for faq in index.faqs]

    def _starting(self, prefix: str) -> list[str]:
        """Known words that start with ``prefix``."""
        first = bisect_left(self._vocabulary, prefix)
        found = []
        for word in self._vocabulary[first:]:
            if not word.startswith(prefix):
                break
            found.append(word)
        return found

    def suggest(self, typed: str, limit: int = MAX_CHOICES) -> list[Suggestion]:
        """Up to ``limit`` (≤ 25) FAQ questions fitting ``typed``, best first;
        the first FAQs of the index when nothing is typed yet."""
        limit = min(limit, MAX_CHOICES)
        wanted = words(typed)
        if not wanted:
            return self._choices[:limit]
        *whole, last = wanted
        hits: Counter[int] = Counter()
        in_question: Counter[int] = Counter()
        for word in dict.fromkeys(whole):  # each typed word counts once
            hits.update(self._anywhere.get(word, ()))
            in_question.update(self._in_question.get(word, ()))
        completing: set[int] = set()
        completing_question: set[int] = set()
        for word in self._starting(last):
            completing |= self._anywhere[word]
            completing_question |= self._in_question.get(word, set())
        hits.update(completing)
        in_question.update(completing_question)
        ranked = heapq.nsmallest(limit, hits, key=lambda p: (-hits[p], -in_question[p], self._lengths[p], p))
        return [self._choices[p] for p in ranked]

    def faq_id_of(self, value: str) -> str | None:
        """The FAQ a picked choice names (None for free text)."""
        if value.startswith(PICK_PREFIX) and self.index.faq_by_id(value[len(PICK_PREFIX):]) is not None:
            return value[len(PICK_PREFIX):]
        return None


def is_pick(value: str) -> bool:
    """Whether ``value`` is a picked choice's value (``faq:<id>``), of this index or an earlier one."""
    return value.startswith(PICK_PREFIX) and " " not in value


# The suggester of the engine being served: rebuilt beside it for each new
# FAQ revision and swapped with it (bot.serving.holder), so autocomplete follows
# a reload without ever being built on the Gateway's event loop.
SUGGESTIONS: Companion[Suggester] = Companion("discord.suggestions", lambda engine: Suggester(engine.index))


def _choice(faq_id: str, question: str) -> Suggestion:
    name = question if len(question) <= NAME_CHARS else question[:NAME_CHARS - 1] + "…"
    value = PICK_PREFIX + faq_id
    if len(value) > NAME_CHARS:  # an id too long to carry: the question, answered like free text
        value = name
    return Suggestion(name=name or faq_id[:NAME_CHARS], value=value)
