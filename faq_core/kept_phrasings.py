"""Phrasings the review loop added, kept when the FAQs are read again from their sources.

An FAQ page, a Markdown export or a help center has no place for the other
phrasings people ask in: those come from the review loop (``faq-bot review
accept``). So when ``faq-bot sync`` reads such a source again, each FAQ
keeps what it had in the served revision beyond what the source says:

- the phrasings the served revision kept from the review loop for the same id
  (the source still has the FAQ), and those accepted for it since
  (``accepted``, when the caller has the store). Each FAQ records which of its
  alternates these are (``review_phrasings``), so an alternate the source
  itself gave and has since dropped (a page's further ``<dt>``) is not kept; in
  an index written before this was recorded, every served alternate is kept;
- an FAQ that is gone from the sources loses them, with a note naming it.

A CSV, JSONL or ``.xlsx`` source holds its own alternates (``faq-bot review
apply`` writes them there), so it is taken as it is: a phrasing removed from
it stays removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from faq_core.faqs import FAQ, FIELD_LIMITS
from faq_core.index import FAQIndex
from faq_core.wording import counted


@dataclass
class Kept:
    """The FAQs with the phrasings kept, and what was kept and dropped, for people."""

    faqs: list[FAQ]
    kept: dict[str, int] = field(default_factory=dict)  # FAQ id -> phrasings kept
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str | None:
        """One line: how many phrasings were kept for how many FAQs, or None when none was."""
        if not self.kept:
            return None
        return (f"kept {counted(sum(self.kept.values()), 'phrasing')} from the review loop on "
                f"{counted(len(self.kept), 'FAQ')} the sources do not list them for")


def _review_phrasings(faq: FAQ) -> tuple[str, ...]:
    """The served FAQ's phrasings from the review loop: as recorded by the last
    sync, or, in an index that does not record them, all its alternates."""
    return faq.alternates if faq.review_phrasings is None else faq.review_phrasings


def same_text(text: str) -> str:
    """A phrasing compared as people read it: case, spacing and end punctuation aside."""
    return " ".join(text.casefold().split()).rstrip(" ?!.？؟")


def keep_phrasings(faqs: Sequence[FAQ], tabular: frozenset[str], served: FAQIndex | None,
                   accepted: Mapping[str, Sequence[str]] | None = None) -> Kept:
    """``faqs`` (just read; ``tabular``: the labels of sources that hold their
    own alternates) with the phrasings kept from ``served`` and ``accepted``
    (FAQ id -> accepted phrasings); see the module docstring."""
    accepted = accepted or {}
    result = Kept([])
    present = {faq.id for faq in faqs}
    for faq in faqs:
        if faq.source in tabular:
            result.faqs.append(faq)
            continue
        before = served.faq_by_id(faq.id) if served is not None else None
        extra = [*(_review_phrasings(before) if before is not None else ()), *accepted.get(faq.id, ())]
        seen = {same_text(text) for text in faq.phrasings}
        added: list[str] = []
        for text in extra:
            text = " ".join(text.split())
            if text and len(text) <= FIELD_LIMITS["alternates"] and same_text(text) not in seen:
                seen.add(same_text(text))
                added.append(text)
        if added:
            result.kept[faq.id] = len(added)
        # recorded, so the next sync keeps these and no alternate the source itself has since dropped
        result.faqs.append(replace(faq, alternates=(*faq.alternates, *added), review_phrasings=tuple(added)))
    gone: dict[str, int] = {faq_id: len(texts) for faq_id, texts in accepted.items()
                            if texts and faq_id not in present}
    for before in served.faqs if served is not None else ():
        if before.id not in present and _review_phrasings(before) and before.source not in tabular:
            gone[before.id] = max(gone.get(before.id, 0), len(_review_phrasings(before)))
    for faq_id, count in sorted(gone.items()):
        result.notes.append(f"FAQ {faq_id} is no longer in the sources; dropped with it: "
                            f"{counted(count, 'other phrasing')} from the review loop")
    return result
