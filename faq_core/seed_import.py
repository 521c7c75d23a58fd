"""Import the seed article's layout into a proper index.

The article pushed an embeddings-only CSV (one row per FAQ, one column per
dimension, header ``0,1,...,383`` from ``DataFrame.to_csv(index=False)``) and
kept the questions in the script, matched by position. This pairs such a CSV
with a questions file (an FAQ source, or plain text with one question per
line) and produces an index that carries its texts, ids and model.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from faq_core.embedders.base import KNOWN_DIMS, canonical_model_id, unit_rows
from faq_core.errors import FAQSourceError
from faq_core.faqs import FAQ, faqs_from_rows, load_faqs, metadata_columns, read_utf8, source_lines
from faq_core.index import FAQIndex, IndexMeta, source_digest


def read_embeddings_csv(path: str | Path) -> np.ndarray:
    """Read an all-numeric CSV (optional header of column names) as float32 rows."""
    path = Path(path)
    text = read_utf8(path, "embeddings")
    rows: list[list[float]] = []
    width = None
    for line, record in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not record:
            continue
        if line == 1 and [cell.strip() for cell in record] == [str(i) for i in range(len(record))]:
            continue  # the header DataFrame.to_csv writes for unnamed columns: 0,1,...,n-1
        try:
            values = [float(cell) for cell in record]
        except ValueError:
            if line == 1 and not rows:
                continue  # the header: column names
            raise FAQSourceError(path, line, "every embedding value must be a number") from None
        if width is None:
            width = len(values)
        elif len(values) != width:
            raise FAQSourceError(path, line, f"expected {width} values, found {len(values)}")
        rows.append(values)
    if not rows:
        raise FAQSourceError(path, None, "empty file: no embeddings")
    matrix = np.asarray(rows, dtype=np.float32)
    if not np.all(np.isfinite(matrix)):
        raise FAQSourceError(path, None, "embeddings contain NaN or infinite values")
    return matrix


def read_questions(path: str | Path) -> list[FAQ]:
    """FAQs from an FAQ source, or from a ``.txt`` file with one question per line."""
    path = Path(path)
    if path.suffix.lower() != ".txt":
        return load_faqs(path)
    lines = source_lines(read_utf8(path, "questions"))
    rows = ((number, {"question": q}, None) for number, q in enumerate(lines, start=1) if q.strip())
    return faqs_from_rows(path, rows)  # the same checks as an FAQ source: length, duplicates


def import_seed(embeddings_csv: str | Path, questions: str | Path, model_id: str) -> FAQIndex:
    """Pair the seed's embeddings CSV with its questions, row by row.

    Only the first phrasing of each FAQ has a vector in such a CSV, so
    alternates in the questions file are refused rather than silently dropped.
    """
    matrix = read_embeddings_csv(embeddings_csv)
    faqs = read_questions(questions)
    model_id = canonical_model_id(model_id)
    if len(faqs) != matrix.shape[0]:
        raise FAQSourceError(
            embeddings_csv, None,
            f"{matrix.shape[0]} embedding rows but {len(faqs)} questions in {questions}: they are matched by position",
        )
    expected = KNOWN_DIMS.get(model_id)
    if expected is not None and matrix.shape[1] != expected:
        raise FAQSourceError(
            embeddings_csv, None, f"rows have {matrix.shape[1]} values but {model_id} has dimension {expected}"
        )
    if any(f.alternates for f in faqs):
        raise FAQSourceError(
            questions, None,
            "the seed layout has one vector per FAQ; alternates have none: use 'faq-bot index build' instead",
        )
    meta = IndexMeta(
        model_id=model_id,
        dim=int(matrix.shape[1]),
        backend="imported",
        source_sha256=source_digest(embeddings_csv),
        source_name=Path(embeddings_csv).name,
        faq_count=len(faqs),
        phrasing_count=len(faqs),
        metadata_columns=metadata_columns(faqs),
    )
    return FAQIndex(faqs, [f.question for f in faqs], unit_rows(matrix), np.arange(len(faqs)), meta)
