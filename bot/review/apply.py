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

import csv
import io
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.recording import normalise_text
from bot.review.decisions import ACCEPT, NEW, Decision
from faq_core.errors import ReviewError
from faq_core.faqs import LIST_SEPARATOR, derive_id, load_faqs, read_utf8


@dataclass
class ApplyReport:
    """What applying changed: phrasings added per FAQ, new FAQ ids, and the
    decisions that could not be applied (their FAQ is not in the source)."""

    added: dict[str, int] = field(default_factory=dict)
    new: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def describe(self, out: Path) -> str:
        """One line for people."""
        line = (f"wrote {out}: {sum(self.added.values())} phrasing(s) added to {len(self.added)} FAQ(s), "
                f"{len(self.new)} new FAQ(s)")
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
    if out.is_dir():
        raise ReviewError(f"--out {out} is a folder: give a file name")
    if out.exists() and not force:
        raise ReviewError(f"--out {out} exists: choose a new file, or add --force to replace it")
    return out


def _clean(text: str) -> str:
    """A phrasing as a source can hold it (one line; no list separator in CSV)."""
    return " ".join(text.replace(LIST_SEPARATOR, "/").split())


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
        for text in decision.texts:
            if normalise_text(text) not in seen[faq_id]:
                seen[faq_id].add(normalise_text(text))
                alternates.append(_clean(text))
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
    for text in decision.texts:
        if normalise_text(text) not in seen[faq_id]:
            seen[faq_id].add(normalise_text(text))
            additions.setdefault(faq_id, []).append(_clean(text))
            report.added[faq_id] = report.added.get(faq_id, 0) + 1


def _csv_text(source: Path, ids: list[str], additions: dict[str, list[str]],
              new_rows: list[dict[str, Any]]) -> str:
    rows = list(csv.reader(io.StringIO(read_utf8(source), newline=""), strict=True))
    header = rows[0]
    names = [h.strip().lower() for h in header]
    if "alternates" not in names:
        header.append("alternates")
        names.append("alternates")
        for row in rows[1:]:
            if any(cell.strip() for cell in row):
                row.append("")
    column = names.index("alternates")
    faq_rows = [row for row in rows[1:] if any(cell.strip() for cell in row)]
    for faq_id, row in zip(ids, faq_rows, strict=True):
        if additions.get(faq_id):
            current = [p.strip() for p in row[column].split(LIST_SEPARATOR) if p.strip()]
            row[column] = LIST_SEPARATOR.join(current + additions[faq_id])
    for new in new_rows:
        cells = {"id": new["id"], "question": new["question"], "answer": new["answer"], "url": new["url"],
                 "alternates": LIST_SEPARATOR.join(new["alternates"])}
        if "id" not in names and new["id"] != derive_id(new["question"]):
            raise ReviewError(f"new FAQ {new['id']!r} needs an id column in the source to keep its id")
        rows.append([cells.get(name, "") for name in names])
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _jsonl_text(source: Path, ids: list[str], additions: dict[str, list[str]],
                new_rows: list[dict[str, Any]]) -> str:
    lines = read_utf8(source).splitlines()
    position = 0
    out = []
    for raw in lines:
        if raw.strip():
            faq_id = ids[position]
            position += 1
            if additions.get(faq_id):
                row = json.loads(raw)
                current = row.get("alternates") or []
                if isinstance(current, str):
                    current = [p.strip() for p in current.split(LIST_SEPARATOR) if p.strip()]
                row["alternates"] = list(current) + additions[faq_id]
                raw = json.dumps(row, ensure_ascii=False)
        out.append(raw)
    for new in new_rows:
        out.append(json.dumps({k: v for k, v in new.items() if v not in ("", [])}, ensure_ascii=False))
    return "\n".join(out) + "\n"


def _write_atomically(out: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``out``, check that it reads
    back as an FAQ source, then rename it into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=out.suffix, dir=out.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        load_faqs(temporary)
        os.replace(temporary, out)
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
