"""Turning accepted decisions into a new FAQ source, never touching the old one.

``faq-bot review apply --source faqs.csv --out faqs.next.csv`` reads the
source (CSV or JSONL, as :mod:`faq_core.faqs` reads it), adds each accepted
cluster's questions to its FAQ's alternates and appends each drafted new FAQ,
and writes the result to ``--out``: every other column, cell and line of the
source stays as it was. ``--out`` must differ from the source and is written
through a temporary file renamed into place, so a failure leaves no
half-written file; an existing ``--out`` is replaced only with ``--force``.
Applying twice adds nothing twice (phrasings are compared normalised), so
apply can run after every review.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.errors import ReviewError
from bot.features.recording import normalise_text
from bot.features.review.decisions import ACCEPT, NEW, Decision
from faq_core.errors import FAQSourceError
from faq_core.faqs import FIELD_LIMITS, LIST_SEPARATOR, derive_id, load_faqs, read_utf8, source_lines
from faq_core.out_paths import special_file
from faq_core.wording import counted


@dataclass
class ApplyReport:
    """What applying changed: phrasings added per FAQ, new FAQ ids, and the
    decisions that could not be applied (their FAQ is not in the source)."""

    added: dict[str, int] = field(default_factory=dict)
    new: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def describe(self, out: Path) -> str:
        """One line for people."""
        line = (f"wrote {out}: {counted(sum(self.added.values()), 'phrasing')} added to "
                f"{counted(len(self.added), 'FAQ')}, {counted(len(self.new), 'new FAQ')}")
        if self.skipped:
            line += f"; skipped {len(self.skipped)}: " + "; ".join(self.skipped)
        return line


def check_out_file(source: Path, out: Path, *, force: bool = False) -> Path:
    """Refuse an ``--out`` that is the source (or the same file under another
    name), a folder, or an existing file without ``force``."""
    if out.suffix.lower() != source.suffix.lower():
        raise ReviewError(f"--out {out} must have the source's format ({source.suffix})")
    if out.resolve() == source.resolve() or (out.exists() and source.exists() and out.samefile(source)):
        raise ReviewError(f"--out {out} is the source: write the new source to another file "
                          "(--force never overwrites the source)")
    kind = special_file(out)
    if kind:
        raise ReviewError(f"--out {out} is {kind}, not a file: choose another path (--force never replaces it)")
    if out.is_dir():
        raise ReviewError(f"--out {out} is a folder: give a file name")
    if out.exists() and not force:
        raise ReviewError(f"--out {out} exists: choose a new file, or add --force to replace it")
    return out


def _clean(text: str) -> str:
    """A phrasing as a source can hold it: one line, no list separator (CSV),
    at most the source's limit for a phrasing (cut at a word; the model reads
    no further anyway)."""
    text = " ".join(text.replace(LIST_SEPARATOR, "/").split())
    limit = FIELD_LIMITS["alternates"]
    return text if len(text) <= limit else text[: limit + 1].rsplit(" ", 1)[0][:limit].rstrip()


def _plan(faq_phrasings: dict[str, list[str]], decisions: Sequence[Decision],
          report: ApplyReport) -> tuple[dict[str, list[str]], list[dict[str, Any]]]:
    """(alternates to add per existing FAQ id, new FAQ rows) from the decisions."""
    seen = {faq_id: {normalise_text(p) for p in phrasings} for faq_id, phrasings in faq_phrasings.items()}
    additions: dict[str, list[str]] = {}
    new_rows: list[dict[str, Any]] = []
    for decision in [d for d in decisions if d.action == NEW]:
        question = _clean(decision.question or "")
        faq_id = decision.faq_id or derive_id(question)
        if faq_id in seen:
            if normalise_text(question) in seen[faq_id]:  # applied before: its phrasings go on as additions
                _add(seen, additions, replace(decision, action=ACCEPT, faq_id=faq_id), report)
                continue
            faq_id = f"{faq_id}-{decision.id}"
        seen[faq_id] = {normalise_text(question)}
        alternates: list[str] = []
        for text in map(_clean, decision.texts):
            if normalise_text(text) not in seen[faq_id]:
                seen[faq_id].add(normalise_text(text))
                alternates.append(text)
        new_rows.append({"id": faq_id, "question": question, "answer": decision.answer or "",
                         "url": decision.url or "", "alternates": alternates})
        report.new.append(faq_id)
    for decision in [d for d in decisions if d.action == ACCEPT]:
        _add(seen, additions, decision, report)
    return additions, new_rows


def _add(seen: dict[str, set[str]], additions: dict[str, list[str]], decision: Decision,
         report: ApplyReport) -> None:
    faq_id = decision.faq_id or ""
    if faq_id not in seen:
        report.skipped.append(f"decision {decision.id} (cluster {decision.cluster}): no FAQ {faq_id!r} in the source")
        return
    for text in map(_clean, decision.texts):
        if normalise_text(text) not in seen[faq_id]:
            seen[faq_id].add(normalise_text(text))
            additions.setdefault(faq_id, []).append(text)
            report.added[faq_id] = report.added.get(faq_id, 0) + 1


@dataclass
class _Source:
    """A source file as it is on disk: its BOM (kept), its physical lines
    with their endings, and the line ending new lines get (the file's first)."""

    bom: str
    lines: list[str]

    @classmethod
    def read(cls, path: Path) -> _Source:
        text = read_utf8(path)
        with path.open("rb") as handle:
            bom = "\ufeff" if handle.read(3) == codecs.BOM_UTF8 else ""
        return cls(bom, source_lines(text))

    @property
    def ending(self) -> str:
        first = self.lines[0] if self.lines else ""
        return first[len(first.rstrip("\r\n")):] or "\n"

    def text(self, parts: list[str], appended: list[str]) -> str:
        """``parts`` (the lines, some rewritten) and then ``appended`` lines, each ended like the file's."""
        if appended and parts and not parts[-1].endswith(("\n", "\r")):
            parts = [*parts[:-1], parts[-1] + self.ending]
        return self.bom + "".join(parts) + "".join(line + self.ending for line in appended)


def _ending(raw: str) -> str:
    return raw[len(raw.rstrip("\r\n")):]


def _csv_line(cells: list[str], ending: str) -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator=ending).writerow(cells)
    return buffer.getvalue()


def _csv_text(source: Path, ids: list[str], additions: dict[str, list[str]],
              new_rows: list[dict[str, Any]]) -> str:
    """The source with the additions and new rows; every line no decision
    touches keeps its bytes (quoting, line endings, the BOM)."""
    file = _Source.read(source)
    reader = csv.reader(iter(file.lines), strict=True)
    records: list[tuple[list[str], list[str]]] = []  # (cells, the physical lines they were read from)
    start = 0
    for cells in reader:
        records.append((cells, file.lines[start:reader.line_num]))
        start = reader.line_num
    (header, header_lines), rows = records[0], records[1:]
    names = [h.strip().lower() for h in header]
    add_column = "alternates" not in names
    if add_column:  # one more column: the header and every row get a cell at the end
        names.append("alternates")
        header_lines = [*header_lines[:-1], header_lines[-1].rstrip("\r\n") + ",alternates"
                        + _ending(header_lines[-1])]
    column = names.index("alternates")
    parts = list(header_lines)
    faq_ids = iter(ids)
    for cells, lines in rows:
        if not any(cell.strip() for cell in cells):  # a blank row: not an FAQ, kept as it is
            parts.extend(lines)
            continue
        faq_id = next(faq_ids)
        if additions.get(faq_id):
            cells = cells + [""] * (column + 1 - len(cells))
            current = [p.strip() for p in cells[column].split(LIST_SEPARATOR) if p.strip()]
            cells[column] = LIST_SEPARATOR.join(current + additions[faq_id])
            parts.append(_csv_line(cells, _ending(lines[-1])))
        elif add_column:
            parts.extend([*lines[:-1], lines[-1].rstrip("\r\n") + "," + _ending(lines[-1])])
        else:
            parts.extend(lines)
    appended = []
    for new in new_rows:
        values = {"id": new["id"], "question": new["question"], "answer": new["answer"], "url": new["url"],
                  "alternates": LIST_SEPARATOR.join(new["alternates"])}
        if "id" not in names and new["id"] != derive_id(new["question"]):
            raise ReviewError(f"new FAQ {new['id']!r} needs an id column in the source to keep its id")
        appended.append(_csv_line([values.get(name, "") for name in names], ""))
    return file.text(parts, appended)


def _jsonl_text(source: Path, ids: list[str], additions: dict[str, list[str]],
                new_rows: list[dict[str, Any]]) -> str:
    """The source with the additions and new lines; every line no decision
    touches keeps its bytes."""
    file = _Source.read(source)
    faq_ids = iter(ids)
    parts = []
    for raw in file.lines:
        if raw.strip():
            faq_id = next(faq_ids)
            if additions.get(faq_id):
                row = json.loads(raw)
                current = row.get("alternates") or []
                if isinstance(current, str):
                    current = [p.strip() for p in current.split(LIST_SEPARATOR) if p.strip()]
                row["alternates"] = list(current) + additions[faq_id]
                raw = json.dumps(row, ensure_ascii=False) + _ending(raw)
        parts.append(raw)
    appended = [json.dumps({k: v for k, v in new.items() if v not in ("", [])}, ensure_ascii=False)
                for new in new_rows]
    return file.text(parts, appended)


def _write_atomically(out: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``out``, check that it reads
    back as an FAQ source, then rename it into place."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=out.suffix, dir=out.parent)
    except FileExistsError:  # mkdir met a file where a folder of the path should be
        raise ReviewError(f"cannot write --out {out}: a part of its path is a file, not a folder") from None
    except OSError as error:
        raise ReviewError(f"cannot write --out {out}: {error.strerror or error}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        try:
            load_faqs(temporary)
        except FAQSourceError as error:
            raise ReviewError(f"--out {out} was not written: the new source would be refused "
                              f"(line {error.line}: {error.reason})") from None
        os.replace(temporary, out)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise ReviewError(f"cannot write --out {out}: {error.strerror or error} (nothing was written)") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def apply_decisions(source: str | Path, out: str | Path, decisions: Sequence[Decision], *,
                    force: bool = False) -> ApplyReport:
    """Write ``source`` with ``decisions`` applied to ``out`` (see the module
    docs). Raises :class:`~faq_core.errors.FAQSourceError` for a bad source and
    :class:`~faq_core.errors.ReviewError` for a refused ``out``; the new file
    is read back as an FAQ source before it replaces ``out``."""
    source, out = Path(source), Path(out)
    check_out_file(source, out, force=force)
    faqs = load_faqs(source)
    report = ApplyReport()
    additions, new_rows = _plan({faq.id: list(faq.phrasings) for faq in faqs}, decisions, report)
    ids = [faq.id for faq in faqs]
    writer = _jsonl_text if source.suffix.lower() == ".jsonl" else _csv_text
    text = writer(source, ids, additions, new_rows)
    _write_atomically(out, text)
    return report


def accepted_phrasings(decisions: Sequence[Decision]) -> dict[str, list[str]]:
    """The phrasings each FAQ id was given in the review loop (accepted clusters,
    cleaned as :func:`apply_decisions` writes them), for ``faq-bot sync``: an FAQ
    read again from a page or an export keeps them though its source cannot hold them."""
    accepted: dict[str, list[str]] = {}
    for decision in decisions:
        if decision.action == ACCEPT and decision.faq_id:
            accepted.setdefault(decision.faq_id, []).extend(map(_clean, decision.texts))
    return accepted
