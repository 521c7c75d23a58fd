"""Several FAQ sources read into one list of FAQs, for one index.

``faq-bot index build faq-page.html help-center.json extra.csv --out DIR``
(and ``publish``, ``sync``) read every source with
:func:`~faq_core.sources.dispatch.load_source` before anything is embedded or
written, so a missing, malformed or unreachable source refuses the whole
build with one line and nothing half-written. Each FAQ gets ``source``: the
source's label (:func:`source_labels`: a file's name, a URL without secrets),
the same on every machine that runs the build, so ``index diff`` can group
changes by source and a scheduled job does not see every FAQ "moved".

Two sources that yield one id are refused, naming both sources: ids are the
FAQs' identity across revisions (the diff, the review loop, the gate), so
they must not depend on which source happens to be read first.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from faq_core.errors import FAQSourceError, SourceFetchError
from faq_core.faqs import FAQ
from faq_core.sources.credentials import HelpCenterAuth
from faq_core.sources.dispatch import FAQ_FILES, is_url, load_source
from faq_core.sources.limits import DEFAULT_LIMITS, Limits

if TYPE_CHECKING:
    import requests

TABULAR = (*FAQ_FILES, ".xlsx")  # sources whose rows carry their own alternates


@dataclass(frozen=True)
class SourceSet:
    """The FAQs of several sources, in the order given, each carrying its ``source`` label."""

    faqs: list[FAQ]
    labels: list[str]
    paths: list[Path | None]  # each source's file, None for a URL
    # labels of the sources that hold alternates themselves (CSV, JSONL, .xlsx); pages and exports do not
    tabular: frozenset[str]

    def digest(self) -> str:
        """sha256 of what was read (every FAQ's fields, in order): the index's
        ``source_sha256`` when it was not built from one local file."""
        hasher = hashlib.sha256()
        for faq in self.faqs:
            row = [faq.id, faq.question, faq.answer, faq.url, list(faq.alternates), list(faq.tags),
                   dict(faq.metadata), faq.source]
            hasher.update(json.dumps(row, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n")
        return hasher.hexdigest()

    def name(self) -> str:
        """The sources' labels on one line, for the index metadata's ``source_name``."""
        return ", ".join(self.labels)


def source_labels(locations: Sequence[str | Path]) -> list[str]:
    """How each source is named in the index: a URL as shown in messages (no
    password, secret query values masked), a file by its name; two files of
    one name by their paths as given, so the labels stay apart."""
    def short(location: str | Path) -> str:
        if isinstance(location, str) and is_url(location):
            from faq_core.sources.fetch import display_url

            return display_url(location)
        return Path(location).name or str(location)

    names = [short(location) for location in locations]
    return [name if names.count(name) == 1 else str(location) for name, location in zip(names, locations,
                                                                                           strict=True)]


def load_sources(locations: Sequence[str | Path], *, sheet: str | None = None,
                 auth: HelpCenterAuth | None = None, limits: Limits = DEFAULT_LIMITS,
                 session: requests.Session | None = None) -> SourceSet:
    """Read every source; refuse the lot if any fails, if a source is named
    twice, or if two sources yield one id. ``sheet`` names the sheet of every
    ``.xlsx`` source (and is refused when none is one). Every source is read
    even after one fails, so the one line names each source that failed; a
    network failure (:class:`SourceFetchError`, exit status 1) is raised as
    such only when it is the only kind of failure."""
    if not locations:
        raise FAQSourceError("(no source)", None, "give at least one FAQ source")
    _refuse_repeats(locations)
    if sheet is not None and not any(_suffix(location) == ".xlsx" for location in locations):
        raise FAQSourceError(str(locations[0]), None, "--sheet was given, but no source is an .xlsx workbook")
    labels = source_labels(locations)
    faqs: list[FAQ] = []
    first_source: dict[str, str] = {}
    failures: list[FAQSourceError] = []
    for location, label in zip(locations, labels, strict=True):
        try:
            read = load_source(location, sheet=sheet if _suffix(location) == ".xlsx" else None, auth=auth,
                               limits=limits, session=session)
        except FAQSourceError as error:
            failures.append(error)
            continue
        if not read:  # every reader refuses a source with nothing FAQ-like; this guards a new one
            failures.append(FAQSourceError(label, None, "holds no FAQs"))
            continue
        for faq in read:
            if faq.id in first_source and not failures:
                raise FAQSourceError(label, None, f"the id {faq.id!r} is also in {first_source[faq.id]}: ids "
                                                  "must be unique across sources (give one of them another id "
                                                  "or anchor)")
            first_source.setdefault(faq.id, label)
            # every alternate is the source's; built directly: dataclasses.replace costs a CSV read a fifth more
            faqs.append(FAQ(faq.id, faq.question, faq.answer, faq.url, faq.alternates, faq.tags, faq.metadata,
                            source=label, review_phrasings=()))
    if failures:
        raise _one_line(failures)
    tabular = frozenset(label for location, label in zip(locations, labels, strict=True)
                        if _suffix(location) in TABULAR)
    paths = [None if isinstance(location, str) and is_url(location) else Path(location) for location in locations]
    return SourceSet(faqs, labels, paths, tabular)


def _suffix(location: str | Path) -> str:
    if isinstance(location, str) and is_url(location):
        return ""
    return Path(location).suffix.lower()


def _refuse_repeats(locations: Sequence[str | Path]) -> None:
    seen: set[str] = set()
    for location in locations:
        key = str(location) if isinstance(location, str) and is_url(location) else str(Path(location).resolve())
        if key in seen:
            raise FAQSourceError(str(location), None, "is named twice: give each source once")
        seen.add(key)


def _one_line(failures: list[FAQSourceError]) -> FAQSourceError:
    """The first failure, with the other failed sources named after it; a
    network failure stays one (exit status 1) only if every failure is."""
    first = failures[0]
    rest = failures[1:]
    if not rest:
        return first
    others = ", ".join(error.path for error in rest)
    reason = f"{first.reason} (and {len(rest)} more source{'s' if len(rest) > 1 else ''} failed: {others})"
    kind = SourceFetchError if all(isinstance(error, SourceFetchError) for error in failures) else FAQSourceError
    return kind(first.path, first.line, reason)
