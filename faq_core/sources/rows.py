"""The one shape every FAQ-source reader returns, and how it becomes :class:`FAQ` rows.

A reader (an HTML page, a Markdown export, a help-center export, a spreadsheet)
returns a list of :class:`SourceRow`: the FAQ's fields exactly as
:func:`faq_core.faqs.faq_from_mapping` reads a CSV or JSONL row, plus where the
FAQ came from. :func:`to_faqs` turns them into FAQs through that same function,
so every source obeys the same field rules as a CSV file.

``fields`` holds:

- ``question`` (str), always;
- ``id`` (str): stable across rebuilds, never a row number: the help-center
  article id (``zendesk-360012``), else the page's own anchor of the FAQ
  (``reset-password``), else a slug and hash of the question (:func:`derive_id`).
  A spreadsheet's rows carry their ``id`` column, or none (derived the same way);
- ``answer`` (str or ``None``): clean text, never markup;
- ``url`` (str or ``None``): the page URL with the FAQ's nearest anchor, or the article's link;
- ``tags`` (list of str): help-center labels and sections, Markdown section headings;
- a spreadsheet's ``alternates`` and extra columns, as a CSV row has them.

``source`` names where the FAQ lives: the file path or URL as given, with
``#anchor`` (HTML, Markdown), ``#article-ID`` (help centers) or
`` (sheet NAME)`` (spreadsheets), for messages and callers of the readers.
It is not copied into the FAQ: an index names each FAQ's source by its label
(:mod:`faq_core.sources.several`), the same on every machine, and a page's
anchor is in the FAQ's ``url``. ``location`` (the file or URL read) and
``line`` (its line, or the sheet's row, when known) are for error messages only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from faq_core.errors import FAQSourceError
from faq_core.faqs import FAQ, derive_id, faq_from_mapping

_ID_CHARS = re.compile(r"[^A-Za-z0-9._:/-]+")
_VALID_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
# Anchors a CMS numbers by position ("faq-3", "q12", "accordion-item-4"): they move when an FAQ is inserted
# above, so they make no id (the FAQ's url still uses them: that is how the page links to it).
_POSITIONAL = re.compile(
    r"^(?:faq|q|question|item|accordion|accordion-item|collapse|panel|heading|section|tab|toggle|answer|a)?"
    r"[-_]?\d+$", re.IGNORECASE)


@dataclass(frozen=True)
class SourceRow:
    """One FAQ as a reader found it, before the field rules of :func:`faq_from_mapping`."""

    fields: Mapping[str, Any]
    source: str
    location: str
    line: int | None = None
    # Where in the source, for messages when there is no line ("articles[3] (id 12)", "row 5").
    where: str | None = field(default=None, compare=False)

    def mapping(self) -> dict[str, Any]:
        """The row as :func:`faq_from_mapping` reads it (a spreadsheet's own
        ``source`` column, if it has one, is metadata like any extra column)."""
        return dict(self.fields)

    def position(self) -> str:
        """Where the row is, for a message: ``line 12``, or ``where``, or ``location``."""
        if self.line is not None:
            return f"line {self.line}"
        return self.where or self.location


def to_faqs(rows: Iterable[SourceRow]) -> list[FAQ]:
    """The :class:`FAQ` of each row, through :func:`faq_from_mapping` (the CSV field
    rules); refuses two rows with one id, naming both places."""
    faqs: list[FAQ] = []
    seen: dict[str, SourceRow] = {}
    for row in rows:
        # faq_from_mapping only formats its path into messages; a URL must not be folded by Path.
        faq = faq_from_mapping(cast(Path, row.location), cast(int, row.line), row.mapping())
        if faq.id in seen:
            raise FAQSourceError(row.location, row.line,
                                 f"duplicate id {faq.id!r} (first at {seen[faq.id].position()})")
        seen[faq.id] = row
        faqs.append(faq)
    return faqs


def id_from_anchor(anchor: str | None) -> str | None:
    """An FAQ id from the page's own anchor of it, or ``None`` when the anchor
    cannot identify it across edits (absent, or numbered by position)."""
    if not anchor or _POSITIONAL.match(anchor.strip()):
        return None
    anchor = anchor.strip()
    if _VALID_ID.match(anchor):
        return anchor
    slug = _ID_CHARS.sub("-", anchor).strip("-._:/")[:120].strip("-._:/")
    if not slug:
        return None
    # A changed anchor gets its own id: the hash tells apart anchors that slug alike ("a b", "a+b").
    return f"{slug}-{hashlib.sha1(anchor.encode('utf-8')).hexdigest()[:6]}"


def row_id(question: str, anchor: str | None) -> str:
    """The id of an FAQ found on a page: its own anchor, else a slug and hash of the question."""
    return id_from_anchor(anchor) or derive_id(question)


def looks_like_question(text: str) -> bool:
    """Whether ``text`` ends as a question does (``?``, or the full-width and Arabic marks), quotes aside."""
    return text.rstrip(" )\"'”»").endswith(("?", "？", "؟"))


def one_line(text: str) -> str:
    """``text`` on one line, runs of whitespace made one space."""
    return " ".join(text.split())


def unique_rows(rows: Iterable[SourceRow]) -> list[SourceRow]:
    """``rows`` with exact repeats (same id, question and answer) dropped; two
    different FAQs with one id are refused, naming both places."""
    kept: dict[str, SourceRow] = {}
    for row in rows:
        faq_id = row.fields["id"]
        first = kept.get(faq_id)
        if first is None:
            kept[faq_id] = row
            continue
        same = all(first.fields.get(key) == row.fields.get(key) for key in ("question", "answer"))
        if not same:
            raise FAQSourceError(row.location, row.line,
                                 f"two FAQs have the id {faq_id!r} (the other at {first.position()}): "
                                 "give them different anchors or questions")
    return list(kept.values())
