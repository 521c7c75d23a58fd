"""Comparing two FAQ index revisions: what changed, and whether the new one
answers at least as well.

- :func:`diff_indexes`: FAQs added, removed and edited (question, answer,
  link or tags), phrasings added and removed, grouped by the source
  each FAQ is read from when the index records it; what ``faq-bot index
  diff`` prints and what a published commit's message says.
- :func:`unreachable_faqs`: FAQs none of whose own phrasings ranks them first:
  nobody could reach them by asking what they say.
- :func:`gate`: the new index against the previous one on labelled questions
  (helpful votes and picks from the store, a ``--queries`` file): it fails
  when answered-and-correct drops by more than ``margin`` or an FAQ becomes
  unreachable, and lists every question whose result changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from faq_core.engine import FAQEngine
from faq_core.evaluation import LabelledQuery, QueryResult, metrics, run_queries
from faq_core.index import FAQIndex
from faq_core.wording import counted

_CHUNK_CELLS = 8_000_000  # phrasings x FAQs scored at once (32 MB of float32)
DEFAULT_MARGIN = 0.02


@dataclass(frozen=True)
class FAQChange:
    """One FAQ present in both revisions whose content differs."""

    faq_id: str
    # "question", "answer", "url", "tags"; not the source: a renamed file (review apply's faqs.next.csv) is no edit
    fields: tuple[str, ...]
    phrasings_added: tuple[str, ...]
    phrasings_removed: tuple[str, ...]


@dataclass
class IndexDiff:
    """What differs from ``old`` to ``new`` (``old`` None: everything is new)."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    edited: list[FAQChange] = field(default_factory=list)  # content changed (not only phrasings)
    rephrased: list[FAQChange] = field(default_factory=list)  # only phrasings changed
    phrasings_added: int = 0
    phrasings_removed: int = 0
    # FAQ id -> the source it is read from (the old revision's for a removed FAQ); None in older indexes
    sources: dict[str, str | None] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.edited or self.rephrased)

    def summary(self) -> str:
        """One line: counts of FAQs added, edited, removed and phrasings added, removed."""
        return (f"{counted(len(self.added), 'FAQ')} added, {len(self.edited)} edited, {len(self.removed)} removed; "
                f"{counted(self.phrasings_added, 'phrasing')} added, {self.phrasings_removed} removed")

    def lines(self) -> list[str]:
        """The readable diff, one line per change; when the FAQs name their
        sources, grouped by source under a line that counts its changes."""
        if not any(self.sources.get(faq_id) for faq_id in self._changed_ids()):
            return self._lines(lambda faq_id: True)
        out: list[str] = []
        for source in dict.fromkeys(self.sources.get(faq_id) for faq_id in self._changed_ids()):
            def here(faq_id: str, source: str | None = source) -> bool:
                return self.sources.get(faq_id) == source
            edited = sum(1 for change in self.edited if here(change.faq_id))
            rephrased = sum(1 for change in self.rephrased if here(change.faq_id))
            out.append(f"source {source or '(not recorded)'}: {sum(map(here, self.added))} added, {edited} edited, "
                       f"{sum(map(here, self.removed))} removed, {counted(rephrased, 'FAQ')} rephrased")
            out += [f"  {line}" for line in self._lines(here)]
        return out

    def _changed_ids(self) -> list[str]:
        return [*self.added, *self.removed, *(change.faq_id for change in self.edited + self.rephrased)]

    def _lines(self, keep: Callable[[str], bool]) -> list[str]:
        out = [f"+ FAQ {faq_id}" for faq_id in self.added if keep(faq_id)]
        out += [f"- FAQ {faq_id}" for faq_id in self.removed if keep(faq_id)]
        for change in self.edited + self.rephrased:
            if not keep(change.faq_id):
                continue
            what = f" ({', '.join(change.fields)} changed)" if change.fields else ""
            out.append(f"~ FAQ {change.faq_id}{what}")
            out += [f"    + phrasing: {text}" for text in change.phrasings_added]
            out += [f"    - phrasing: {text}" for text in change.phrasings_removed]
        return out


def _phrasings(index: FAQIndex, position: int) -> list[str]:
    return index.texts[int(index.starts[position]) : int(index.ends[position])]


def diff_indexes(old: FAQIndex | None, new: FAQIndex) -> IndexDiff:
    """The changes from ``old`` to ``new``, FAQs matched by id."""
    diff = IndexDiff()
    old_ids = {faq.id: i for i, faq in enumerate(old.faqs)} if old is not None else {}
    new_ids = {faq.id: i for i, faq in enumerate(new.faqs)}
    for faq_id, position in new_ids.items():
        diff.sources[faq_id] = new.faqs[position].source
        if faq_id not in old_ids:
            diff.added.append(faq_id)
            diff.phrasings_added += len(_phrasings(new, position))
    for faq_id, position in old_ids.items():
        if faq_id not in new_ids:
            diff.removed.append(faq_id)
            assert old is not None
            diff.sources[faq_id] = old.faqs[position].source
            diff.phrasings_removed += len(_phrasings(old, position))
    if old is None:
        return diff
    for faq_id, position in new_ids.items():
        if faq_id not in old_ids:
            continue
        before, after = old.faqs[old_ids[faq_id]], new.faqs[position]
        fields = tuple(name for name in ("question", "answer", "url", "tags")
                       if getattr(before, name) != getattr(after, name))
        old_texts, new_texts = _phrasings(old, old_ids[faq_id]), _phrasings(new, position)
        added = tuple(t for t in new_texts if t not in set(old_texts))
        removed = tuple(t for t in old_texts if t not in set(new_texts))
        if fields or added or removed:
            change = FAQChange(faq_id, fields, added, removed)
            (diff.edited if fields else diff.rephrased).append(change)
            diff.phrasings_added += len(added)
            diff.phrasings_removed += len(removed)
    return diff


def unreachable_faqs(engine: FAQEngine) -> list[str]:
    """Ids of FAQs that none of their own phrasings, asked as a question, ranks first."""
    index = engine.index
    reached = np.zeros(len(index.faqs), dtype=bool)
    chunk = max(1, _CHUNK_CELLS // max(len(index.faqs), 1))
    for first in range(0, len(index.texts), chunk):
        scores = engine.scorer.rank_scores(index.vectors[first : first + chunk])
        owners = index.owner[first : first + chunk]
        best = np.argmax(scores, axis=1)
        reached[owners[best == owners]] = True
    return [faq.id for faq, ok in zip(index.faqs, reached, strict=True) if not ok]


@dataclass(frozen=True)
class ChangedResult:
    """A labelled question whose result differs between the two revisions."""

    text: str
    expected: str | None
    before: QueryResult | None
    after: QueryResult

    def line(self) -> str:
        def show(result: QueryResult | None) -> str:
            if result is None:
                return "(no previous revision)"
            state = "answered" if result.answered else "not answered"
            mark = "right" if result.correct else "wrong"
            return f"{state}, {result.predicted or '-'} ({mark})"
        return f"{self.text!r} [expects {self.expected or 'no answer'}]: {show(self.before)} -> {show(self.after)}"


@dataclass
class GateResult:
    """The gate's verdict and what it is based on."""

    questions: int
    before: float | None  # answered-and-correct of the previous revision (None: no previous, or no labels)
    after: float | None
    margin: float
    unreachable: list[str]
    changed: list[ChangedResult]

    @property
    def reasons(self) -> list[str]:
        """Why the new revision is refused (empty: it passes)."""
        out = []
        if self.before is not None and self.after is not None and self.after < self.before - self.margin:
            out.append(f"answered-and-correct drops from {self.before:.3f} to {self.after:.3f} on "
                       f"{counted(self.questions, 'labelled question')} (allowed drop {self.margin:.3f})")
        if self.unreachable:
            out.append(f"{counted(len(self.unreachable), 'FAQ')} unreachable (none of their phrasings ranks them "
                       "first): "
                       + ", ".join(self.unreachable[:10]) + (" ..." if len(self.unreachable) > 10 else ""))
        return out

    @property
    def passed(self) -> bool:
        return not self.reasons

    def summary(self) -> str:
        """One line for people and commit messages."""
        labelled = counted(self.questions, "labelled question")
        if self.before is None and self.after is None:
            scores = "no labelled questions"
        elif self.before is None:
            scores = f"answered-and-correct {self.after:.3f} on {labelled}"
        else:
            scores = f"answered-and-correct {self.before:.3f} -> {self.after:.3f} on {labelled}"
        return (f"{scores}; {counted(len(self.unreachable), 'unreachable FAQ')}; "
                f"{counted(len(self.changed), 'result')} changed")


def gate(previous: FAQEngine | None, new: FAQEngine, labelled: Sequence[LabelledQuery], *,
         margin: float = DEFAULT_MARGIN) -> GateResult:
    """Evaluate ``new`` against ``previous`` on ``labelled`` (see the module docstring)."""
    after = run_queries(new, labelled, 1) if labelled else []
    before = run_queries(previous, labelled, 1) if labelled and previous is not None else None
    changed = []
    for i, result in enumerate(after):
        old = before[i] if before is not None else None
        if old is None:
            differs = not (result.correct and result.answered)  # no previous: list what it gets wrong
        else:
            differs = (old.correct, old.answered, old.predicted) != (result.correct, result.answered,
                                                                    result.predicted)
        if differs:
            changed.append(ChangedResult(result.text, result.expected, old, result))
    return GateResult(
        questions=sum(1 for q in labelled if q.faq_id is not None),
        before=metrics(before).answered_correct if before else None,
        after=metrics(after).answered_correct if after else None,
        margin=margin, unreachable=unreachable_faqs(new), changed=changed,
    )
