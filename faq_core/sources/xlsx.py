"""FAQs from an ``.xlsx`` workbook: the first sheet (or a named one), read with
the very column rules of a CSV file.

The first non-empty row is the header; ``question`` is required, the known
columns match in any case, other columns become metadata, and a repeated
column or a value under no header is refused, all exactly as
:mod:`faq_core.faqs` reads a CSV (the sheet's rows go through its CSV reader).
Cells become text as a CSV export would write them: whole numbers without
``.0``, dates as ``2024-05-01`` (with the time when there is one), formulas as
their last computed value. Errors name the file, the sheet and the row.

A workbook is a zip: before openpyxl opens it, its unpacked size is checked
against ``Limits.max_unpacked_bytes`` (a few kilobytes can unpack to
gigabytes), and its rows against ``Limits.max_rows``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

from faq_core.errors import FAQSourceError
from faq_core.faqs import _csv_rows
from faq_core.sources.limits import DEFAULT_LIMITS, Limits, size_text
from faq_core.sources.rows import SourceRow


def read_xlsx(data: bytes, location: str, *, sheet: str | None = None,
              limits: Limits = DEFAULT_LIMITS) -> list[SourceRow]:
    """The rows of sheet ``sheet`` (default: the first) as CSV rows would be read."""
    _check_zip(data, location, limits)
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # a hostile zip can fail anywhere in openpyxl; each is one line for the user
        raise FAQSourceError(location, None, f"not a readable .xlsx workbook ({type(error).__name__})") from None
    try:
        names = workbook.sheetnames
        if sheet is not None and sheet not in names:
            raise FAQSourceError(location, None, f"no sheet named {sheet!r} (sheets: {', '.join(names)})")
        if not names:
            raise FAQSourceError(location, None, "the workbook has no sheets")
        title = sheet if sheet is not None else names[0]
        where = f"{location} (sheet {title})"
        table = _table(workbook[title], where, limits)
    finally:
        workbook.close()
    return _rows(table, where)


def _check_zip(data: bytes, location: str, limits: Limits) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise FAQSourceError(location, None, "not an .xlsx workbook (not a zip file: a password-protected "
                             "workbook or an old .xls? save it as .xlsx)") from None
    if unpacked > limits.max_unpacked_bytes:
        raise FAQSourceError(location, None, f"unpacks to {size_text(unpacked)}, over the limit of "
                             f"{size_text(limits.max_unpacked_bytes)}")


def _table(worksheet: Any, where: str, limits: Limits) -> list[tuple[int, list[str]]]:
    """(sheet row number, cells as text) of every row from the header on."""
    table: list[tuple[int, list[str]]] = []
    try:
        for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
            if number > limits.max_rows:
                raise FAQSourceError(where, None, f"more than {limits.max_rows:,} rows: not read")
            cells = [_cell_text(value) for value in values]
            if table or any(cell.strip() for cell in cells):
                table.append((number, cells))
    except FAQSourceError:
        raise
    except Exception as error:  # a corrupt sheet part
        raise FAQSourceError(where, None, f"the sheet cannot be read ({type(error).__name__})") from None
    if not table:
        raise FAQSourceError(where, None, "empty sheet: no FAQs")
    width = max(len(cells) for _, cells in table)
    return [(number, cells + [""] * (width - len(cells))) for number, cells in table]


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value).replace("\r\n", "\n").replace("\r", "\n")


def _rows(table: list[tuple[int, list[str]]], where: str) -> list[SourceRow]:
    """The sheet through the CSV reader's column rules, each row and error at its sheet row."""
    records: list[str] = []
    row_at_line: dict[int, int] = {}
    line = 1
    for number, cells in table:
        record = io.StringIO(newline="")
        csv.writer(record, lineterminator="\n").writerow(cells)
        row_at_line[line] = number
        records.append(record.getvalue())
        line += records[-1].count("\n")  # a cell with line breaks makes a record of several lines
    text = "".join(records)
    rows = []
    try:
        for csv_line, fields, _columns in _csv_rows(Path(where), text):
            rows.append(SourceRow(fields=fields, source=where, location=where, line=row_at_line.get(csv_line)))
    except FAQSourceError as error:
        raise FAQSourceError(where, row_at_line.get(error.line or 0), error.reason) from None
    if not rows:
        raise FAQSourceError(where, None, "no FAQs under the header")
    return rows
