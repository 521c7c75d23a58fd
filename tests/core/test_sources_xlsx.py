"""``.xlsx`` workbooks: the first or a named sheet, read by the CSV column rules
(the same FAQs as the same table saved as CSV), errors at the sheet's row, and
hostile workbooks refused before openpyxl unpacks them."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from faq_core.errors import FAQSourceError
from faq_core.faqs import load_faqs
from faq_core.sources import Limits, load_source, read_source
from tests.core.conftest import write

HEADER = ["id", "Question", "answer", "url", "alternates", "tags", "owner"]
ROWS: list[list[Any]] = [
    ["vpn", "How do I connect to the VPN?", "Install the client,\nthen sign in.", "https://wiki.quillpad.example/vpn",
     "VPN not working|remote access", "it|network", "Ana"],
    [None, "What does Quillpad cost?", "6 € a member a month", None, None, "billing", None],
    [42, "Who answers the phone?", "The support rota", None, None, None, 3.0],
]


def workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_the_first_sheet_reads_like_the_same_table_as_csv(tmp_path: Path) -> None:
    book = workbook(tmp_path / "faqs.xlsx", {"FAQ": [HEADER, *ROWS], "Notes": [["question"], ["Not this one?"]]})
    csv_text = "\n".join(",".join(f'"{"" if v is None else int(v) if isinstance(v, float) else v}"' for v in row)
                         for row in [HEADER, *ROWS]) + "\n"
    assert load_source(book) == load_faqs(write(tmp_path / "faqs.csv", csv_text))
    rows = read_source(book)
    assert [row.line for row in rows] == [2, 3, 4]
    assert rows[0].fields["alternates"] == "VPN not working|remote access"  # split by the CSV rules, later


def test_a_named_sheet_and_a_table_below_empty_rows(tmp_path: Path) -> None:
    book = workbook(tmp_path / "faqs.xlsx", {"Cover": [["Quillpad FAQ"]],
                                             "FAQ": [[], [], ["question", "answer"], ["Is it free?", "For 3 people."]]})
    [row] = read_source(book, sheet="FAQ")
    assert (row.fields["question"], row.line, row.source) == ("Is it free?", 4, f"{book} (sheet FAQ)")
    with pytest.raises(FAQSourceError, match=r"no sheet named 'Sheet9' \(sheets: Cover, FAQ\)"):
        read_source(book, sheet="Sheet9")


def test_cells_become_text_as_a_csv_export_writes_them(tmp_path: Path) -> None:
    book = workbook(tmp_path / "faqs.xlsx", {"S": [["question", "answer", "reviewed", "count", "flag", "ratio"], [
        "When?", "Daily", dt.datetime(2024, 5, 1), 12.0, True, 0.25], ["At?", "Noon", dt.datetime(2024, 5, 1, 12, 30),
                                                                      7, False, None]]})
    faqs = load_source(book)
    assert dict(faqs[0].metadata) == {"reviewed": "2024-05-01", "count": "12", "flag": "TRUE", "ratio": "0.25"}
    assert faqs[1].metadata["reviewed"] == "2024-05-01 12:30:00"


@pytest.mark.parametrize(("rows", "message"), [
    ([["id", "answer"], ["a", "b"]], r"\(sheet S\):1: the header has no 'question' column"),
    ([[], ["question", "owner", "Owner", "owner"], ["q?", "a", "b", "c"]],
     r"\(sheet S\):2: repeated column\(s\) owner"),
    ([["question", "answer"], ["Multi\nline?", "one\ntwo\nthree"], ["q?", "a", None, "stray"]],
     r"\(sheet S\):3: a value in column 4, which has no header"),
    ([["question"], [None], []], r"\(sheet S\): no FAQs under the header"),
    ([], r"\(sheet S\): empty sheet: no FAQs"),
])
def test_the_csv_column_rules_refuse_with_the_sheet_row(tmp_path: Path, rows: list[list[Any]], message: str) -> None:
    book = workbook(tmp_path / "faqs.xlsx", {"S": rows})
    with pytest.raises(FAQSourceError, match=message):
        load_source(book)


def test_a_missing_question_is_refused_at_its_row_after_multiline_cells(tmp_path: Path) -> None:
    book = workbook(tmp_path / "faqs.xlsx", {"S": [["question", "answer"], ["One?", "a\nb\nc"], ["Two?", "x\r\ny"],
                                                  [None, "an answer without its question"]]})
    with pytest.raises(FAQSourceError, match=r"faqs.xlsx \(sheet S\):4: missing question"):
        load_source(book)


def test_not_a_workbook(tmp_path: Path) -> None:
    with pytest.raises(FAQSourceError, match=r"not an .xlsx workbook \(not a zip file"):
        read_source(write(tmp_path / "faqs.xlsx", b"\xd0\xcf\x11\xe0 an OLE file, as .xls or an encrypted workbook"))
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("hello.txt", "a zip, but no workbook")
    with pytest.raises(FAQSourceError, match=r"not a readable .xlsx workbook"):
        read_source(write(tmp_path / "zip.xlsx", broken.getvalue()))
    with pytest.raises(FAQSourceError, match=r"an old Excel .xls workbook: save it as .xlsx"):
        read_source(tmp_path / "faqs.xls")


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path: Path) -> None:
    book = workbook(tmp_path / "faqs.xlsx", {"S": [["question"], ["Is it free?"]]})
    bomb = io.BytesIO()
    with zipfile.ZipFile(book) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            archive.writestr(info, source.read(info))
        archive.writestr("xl/media/padding.bin", b"\0" * 30_000_000)
    packed = write(tmp_path / "bomb.xlsx", bomb.getvalue())
    assert packed.stat().st_size < 100_000
    with pytest.raises(FAQSourceError, match=r"bomb.xlsx: unpacks to 29 MiB, over the limit of 16 MiB"):
        read_source(packed, limits=Limits(max_unpacked_bytes=16 * 1024 * 1024))


def test_too_many_rows(tmp_path: Path) -> None:
    book = workbook(tmp_path / "faqs.xlsx", {"S": [["question"], *([f"Q{n}?"] for n in range(20))]})
    with pytest.raises(FAQSourceError, match=r"\(sheet S\): more than 10 rows: not read"):
        read_source(book, limits=Limits(max_rows=10))


def test_a_sheet_is_only_for_workbooks(tmp_path: Path) -> None:
    with pytest.raises(FAQSourceError, match=r"a sheet was named, but this is not an \.xlsx workbook"):
        read_source(write(tmp_path / "faq.md", "## Q?\n\nA.\n"), sheet="FAQ")
