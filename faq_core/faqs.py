"""FAQ sources: the CSV or JSONL files a team writes, read into :class:`FAQ` rows.

A source is all-or-nothing: any malformed row refuses the whole file with a
:class:`FAQSourceError` naming the file, the line and the reason, so an index is
never built from half a file. Columns beyond :data:`COLUMNS` (a spreadsheet's
``owner`` or ``last reviewed``) are kept as each FAQ's ``metadata``: carried
into the index and the Hub dataset, never embedded.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faq_core.errors import FAQSourceError

COLUMNS = ("id", "question", "answer", "url", "alternates", "tags")
LIST_SEPARATOR = "|"
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")


@dataclass(frozen=True)
class FAQ:
    """One FAQ: a canonical question, other phrasings of it, and its answer."""

    id: str
    question: str
    answer: str | None = None
    url: str | None = None
    alternates: tuple[str, ...] = ()
    tags: tuple[str, ...] = field(default=())
    # The source's other columns (CSV: text; JSONL: any JSON value), blank ones left out.
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def phrasings(self) -> tuple[str, ...]:
        """Every text that should match this FAQ: the question first."""
        return (self.question, *self.alternates)


def derive_id(question: str) -> str:
    """A stable, readable id for an FAQ without one: a slug of the question
    plus a short hash, so rewording any other FAQ never changes it."""
    slug = re.sub(r"[^a-z0-9]+", "-", question.lower()).strip("-")[:40].strip("-")
    digest = hashlib.sha1(question.strip().encode("utf-8")).hexdigest()[:6]
    return f"{slug}-{digest}" if slug else f"faq-{digest}"


def load_faqs(path: str | Path) -> list[FAQ]:
    """Read a ``.csv`` or ``.jsonl`` FAQ source. Raises :class:`FAQSourceError`."""
    path = Path(path)
    text = read_utf8(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _csv_rows(path, text)
    elif suffix in (".jsonl", ".ndjson"):
        rows = jsonl_objects(path, text, COLUMNS, extra_fields=True)
    else:
        raise FAQSourceError(path, None, f"unknown FAQ source type {suffix or '(none)'!r}: use .csv or .jsonl")
    return _validate(path, rows)


def metadata_columns(faqs: Iterable[FAQ]) -> list[str]:
    """The names of the metadata columns the FAQs carry, in first-seen order."""
    return list(dict.fromkeys(key for faq in faqs for key in faq.metadata))


def extra_columns_note(names: Sequence[str]) -> str:
    """One line telling the user which extra columns were kept as metadata,
    pointing out any that look like a misspelt known column."""
    described = []
    for name in names:
        close = difflib.get_close_matches(name.lower(), COLUMNS, n=1, cutoff=0.8)
        described.append(f"{name} (did you mean {close[0]}?)" if close else name)
    return (f"kept the extra column(s) {', '.join(described)} as FAQ metadata "
            "(not embedded; listed by 'faq-bot index info')")


def faq_from_mapping(path: Path, line: int, row: dict[str, Any]) -> FAQ:
    """Turn one parsed row (CSV or JSONL) into an :class:`FAQ`, refusing bad
    fields; fields beyond :data:`COLUMNS` become its metadata."""
    question = _text(path, line, row, "question")
    if not question:
        raise FAQSourceError(path, line, "missing question")
    faq_id = _text(path, line, row, "id") or derive_id(question)
    if not _ID_RE.match(faq_id):
        raise FAQSourceError(
            path, line, f"invalid id {faq_id!r}: use letters, digits and . _ : / - (at most 128)"
        )
    return FAQ(
        id=faq_id,
        question=question,
        answer=_text(path, line, row, "answer"),
        url=_text(path, line, row, "url"),
        alternates=_list(path, line, row, "alternates"),
        tags=_list(path, line, row, "tags"),
        metadata={key: value.strip() if isinstance(value, str) else value for key, value in row.items()
                  if key not in COLUMNS and value is not None and not (isinstance(value, str) and not value.strip())},
    )


def read_utf8(path: Path, what: str = "FAQs") -> str:
    """The text of a UTF-8 input file (BOM allowed); refuses a missing,
    unreadable, non-UTF-8 (with the line of the first bad byte) or blank file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FAQSourceError(path, None, "file not found") from None
    except OSError as error:
        raise FAQSourceError(path, None, f"cannot read file: {error.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise FAQSourceError(path, line, "unreadable encoding: the file must be UTF-8") from None
    if not text.strip():
        raise FAQSourceError(path, None, f"empty file: no {what}")
    return text


def _csv_rows(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except csv.Error as error:
        raise FAQSourceError(path, 1, f"malformed CSV header: {error}") from None
    # Known columns match in any case; other columns keep their header as written.
    names = [h.strip().lower() if h.strip().lower() in COLUMNS else h.strip() for h in header]
    if "question" not in names:
        raise FAQSourceError(path, 1, f"the header has no 'question' column (found: {', '.join(names)})")
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        raise FAQSourceError(path, 1, f"repeated column(s) {', '.join(repeated)}")
    start = reader.line_num + 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(names):
                raise FAQSourceError(path, line, f"expected {len(names)} fields, found {len(record)}")
            stray = [i + 1 for i, (name, cell) in enumerate(zip(names, record, strict=True))
                     if not name and cell.strip()]
            if stray:  # a spreadsheet's cell outside the table: refused rather than dropped
                raise FAQSourceError(path, line, f"a value in column {stray[0]}, which has no header")
            yield line, {name: cell for name, cell in zip(names, record, strict=True) if name}
    except csv.Error as error:
        raise FAQSourceError(path, start, f"malformed CSV: {error}") from None


def jsonl_objects(
    path: Path, text: str, fields: Sequence[str], *, extra_fields: bool = False
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line, object)`` for each non-blank line of a JSONL file; refuses
    invalid JSON, non-objects and (unless ``extra_fields``) fields outside
    ``fields``, with the line."""
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as error:
            raise FAQSourceError(path, line, f"invalid JSON: {error.msg}") from None
        if not isinstance(row, dict):
            raise FAQSourceError(path, line, f"each line must be a JSON object with the fields {', '.join(fields)}")
        unknown = [k for k in row if k not in fields]
        if unknown and not extra_fields:
            raise FAQSourceError(path, line, f"unknown field(s) {', '.join(unknown)}; known: {', '.join(fields)}")
        yield line, row


def _validate(path: Path, rows: Iterable[tuple[int, dict[str, Any]]]) -> list[FAQ]:
    faqs: list[FAQ] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        faq = faq_from_mapping(path, line, row)
        if faq.id in seen:
            raise FAQSourceError(path, line, f"duplicate id {faq.id!r} (first on line {seen[faq.id]})")
        seen[faq.id] = line
        faqs.append(faq)
    if not faqs:
        raise FAQSourceError(path, None, "empty file: no FAQs")
    return faqs


def _text(path: Path, line: int, row: dict[str, Any], key: str) -> str | None:
    value = row.get(key)
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and key == "id":
        value = str(value)
    if not isinstance(value, str):
        raise FAQSourceError(path, line, f"{key} must be a string, got {type(value).__name__}")
    return value.strip() or None


def _list(path: Path, line: int, row: dict[str, Any], key: str) -> tuple[str, ...]:
    value = row.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        items = value.split(LIST_SEPARATOR)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = value
    else:
        raise FAQSourceError(path, line, f"{key} must be a list of strings (or '|'-separated in CSV)")
    return tuple(dict.fromkeys(s.strip() for s in items if s.strip()))
