"""FAQ sources: the CSV or JSONL files a team writes, read into :class:`FAQ` rows.

A source is all-or-nothing: any malformed row refuses the whole file with a
:class:`FAQSourceError` naming the file, the line and the reason, so an index is
never built from half a file. Columns beyond :data:`COLUMNS` (a spreadsheet's
``owner`` or ``last reviewed``) are kept as each FAQ's ``metadata``: carried
into the index and the Hub dataset, never embedded. Every field has one length
limit (:data:`FIELD_LIMITS`), the same in CSV and JSONL, and a ``url`` must be
an http(s) link (:mod:`faq_core.links`).
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faq_core.errors import FAQSourceError
from faq_core.links import link_problem

COLUMNS = ("id", "question", "answer", "url", "alternates", "tags")
LIST_SEPARATOR = "|"
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")

# The longest text each field may hold, in characters, in every format (CSV,
# JSONL, a .txt of questions). A phrasing is embedded, and the model reads only
# its first 256 word pieces (about 1,000 characters of English), so a longer
# question or alternate would be cut where nobody sees it; an answer is posted
# to Slack and Discord; a URL fits a Discord embed (2,048). For ``alternates``
# and ``tags`` the limit is per item. Other columns (metadata) are limited as
# text (a JSON value: as its JSON text).
FIELD_LIMITS = {"id": 128, "question": 1_000, "alternates": 1_000, "answer": 10_000, "url": 2_048, "tags": 100}
METADATA_LIMIT = 10_000
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


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
    # Which source it was read from, as the index names it (faq_core.sources.several.source_labels:
    # a file's name or a URL); None when built from one CSV or JSONL file by older code paths.
    source: str | None = None
    # The alternates that are not the source's but the review loop's, kept by ``faq-bot sync``
    # (faq_core.kept_phrasings); None when not recorded (an index written before sync existed).
    review_phrasings: tuple[str, ...] | None = None

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
        with _csv_field_size_limit(len(text) + 1):
            return faqs_from_rows(path, _csv_rows(path, text))
    if suffix in (".jsonl", ".ndjson"):
        return faqs_from_rows(path, ((line, row, None) for line, row in
                                     jsonl_objects(path, text, COLUMNS, extra_fields=True)))
    raise FAQSourceError(path, None, f"unknown FAQ source type {suffix or '(none)'!r}: use .csv or .jsonl")


def source_lines(text: str) -> list[str]:
    r"""The lines of a JSONL (or plain-text) file, each with its line ending
    (``\n``, ``\r\n`` or ``\r``; the last line may have none). Only those end a
    line: ``str.splitlines`` also splits at U+2028, U+2029 and U+0085, which a
    JSON string may hold as they are."""
    return _LINE.findall(text)


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


def faq_from_mapping(path: Path, line: int, row: dict[str, Any], columns: Mapping[str, int] | None = None) -> FAQ:
    """Turn one parsed row (CSV or JSONL) into an :class:`FAQ`, refusing bad
    fields; fields beyond :data:`COLUMNS` become its metadata. ``columns``
    gives a CSV field's column number, for the messages."""
    field = _Fields(path, line, row, columns or {})
    question = field.text("question")
    if not question:
        raise FAQSourceError(path, line, "missing question")
    faq_id = field.text("id") or derive_id(question)
    if not _ID_RE.match(faq_id):
        raise FAQSourceError(
            path, line, f"invalid id {faq_id!r}: use letters, digits and . _ : / - (at most 128)"
        )
    url = field.text("url")
    if url is not None and (problem := link_problem(url)):
        raise FAQSourceError(path, line, f"{field.name('url')} {url[:80]!r} is not a link: {problem}")
    return FAQ(
        id=faq_id,
        question=question,
        answer=field.text("answer"),
        url=url,
        alternates=field.items("alternates"),
        tags=field.items("tags"),
        metadata=field.metadata(),
    )


def too_long(what: str, text: str, limit: int) -> str | None:
    """``what is N characters long; the limit is L`` when ``text`` is longer
    than ``limit`` (see :data:`FIELD_LIMITS`), else None."""
    return f"{what} is {len(text):,} characters long; the limit is {limit:,}" if len(text) > limit else None


class _Fields:
    """Typed, length-checked access to one parsed row, with messages that
    name the file, the line and the column."""

    def __init__(self, path: Path, line: int, row: dict[str, Any], columns: Mapping[str, int]) -> None:
        self.path, self.line, self.row, self.columns = path, line, row, columns

    def name(self, key: str) -> str:
        """``question (column 2)`` in a CSV, ``question`` in JSONL."""
        return f"{key} (column {self.columns[key]})" if key in self.columns else key

    def _check_length(self, key: str, text: str, limit: int, what: str = "") -> None:
        if problem := too_long(what or self.name(key), text, limit):
            raise FAQSourceError(self.path, self.line, problem)

    def text(self, key: str) -> str | None:
        value = self.row.get(key)
        if value is None:
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and key == "id":
            value = str(value)
        if not isinstance(value, str):
            raise FAQSourceError(self.path, self.line, f"{key} must be a string, got {type(value).__name__}")
        self._check_length(key, value.strip(), FIELD_LIMITS[key])
        return value.strip() or None

    def items(self, key: str) -> tuple[str, ...]:
        value = self.row.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            items = value.split(LIST_SEPARATOR)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            items = value
        else:
            raise FAQSourceError(self.path, self.line,
                                 f"{key} must be a list of strings (or '|'-separated in CSV)")
        kept = [s.strip() for s in items if s.strip()]
        for number, item in enumerate(kept, start=1):
            self._check_length(key, item, FIELD_LIMITS[key], f"{self.name(key)}: item {number}")
        return tuple(dict.fromkeys(kept))

    def metadata(self) -> dict[str, Any]:
        kept: dict[str, Any] = {}
        for key, value in self.row.items():
            if key in COLUMNS or value is None or (isinstance(value, str) and not value.strip()):
                continue
            value = value.strip() if isinstance(value, str) else value
            self._check_length(key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False),
                               METADATA_LIMIT)
            kept[key] = value
        return kept


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


@contextmanager
def _csv_field_size_limit(limit: int) -> Iterator[None]:
    """Lift the ``csv`` module's own field limit (131,072 characters, with a
    message that names no column) while a file already in memory is read, so
    that :data:`FIELD_LIMITS` is the only limit and says which column."""
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, limit))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _delimiter_hint(header_line: str) -> str:
    """A hint when a CSV looks separated by something other than commas."""
    for name, mark in (("semicolons", ";"), ("tabs", "\t")):
        if header_line.count(mark) > header_line.count(","):
            return (f"; the file looks separated by {name}: faq-bot reads comma-separated CSV "
                    "(in a spreadsheet, save as \"CSV UTF-8 (comma delimited)\")")
    return ""


def _csv_rows(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any], dict[str, int]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except csv.Error as error:
        raise FAQSourceError(path, 1, f"malformed CSV header: {error}") from None
    # Known columns match in any case; other columns keep their header as written.
    names = [h.strip().lower() if h.strip().lower() in COLUMNS else h.strip() for h in header]
    if "question" not in names:
        raise FAQSourceError(path, 1, f"the header has no 'question' column (found: {', '.join(names)})"
                                      f"{_delimiter_hint(text.partition(chr(10))[0])}")
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        raise FAQSourceError(path, 1, f"repeated column(s) {', '.join(repeated)}")
    columns = {name: number for number, name in enumerate(names, start=1) if name}
    start = reader.line_num + 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if len(record) < len(names):
                raise FAQSourceError(path, line, f"expected {len(names)} fields, found {len(record)}")
            # a spreadsheet's cell outside the table (beyond the header, or under a blank header cell):
            # refused rather than dropped; blank cells there are fine
            stray = [i + 1 for i, cell in enumerate(record) if cell.strip() and (i >= len(names) or not names[i])]
            if stray:
                raise FAQSourceError(path, line, f"a value in column {stray[0]}, which has no header")
            yield line, {name: cell for name, cell in zip(names, record, strict=False) if name}, columns
    except csv.Error as error:
        raise FAQSourceError(path, start, f"malformed CSV: {error}") from None


def jsonl_objects(
    path: Path, text: str, fields: Sequence[str], *, extra_fields: bool = False
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line, object)`` for each non-blank line of a JSONL file; refuses
    invalid JSON, non-objects and (unless ``extra_fields``) fields outside
    ``fields``, with the line."""
    for line, raw in enumerate(source_lines(text), start=1):
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


def faqs_from_rows(path: Path, rows: Iterable[tuple[int, dict[str, Any], Mapping[str, int] | None]]) -> list[FAQ]:
    """The FAQs of ``(line, row, CSV column numbers or None)`` rows, every
    row checked (:func:`faq_from_mapping`) and ids unique; refuses an empty file."""
    faqs: list[FAQ] = []
    seen: dict[str, tuple[int, bool]] = {}  # id -> (line, whether it was derived from the question)
    for line, row, columns in rows:
        faq = faq_from_mapping(path, line, row, columns)
        derived = not str(row.get("id") or "").strip()
        if faq.id in seen:
            first, first_derived = seen[faq.id]
            if derived and first_derived:
                raise FAQSourceError(path, line, f"duplicate question {faq.question[:80]!r} (lines {first} and "
                                                 f"{line}): merge the two, or give each an id")
            raise FAQSourceError(path, line, f"duplicate id {faq.id!r} (first on line {first})")
        seen[faq.id] = (line, derived)
        faqs.append(faq)
    if not faqs:
        raise FAQSourceError(path, None, "empty file: no FAQs")
    return faqs
