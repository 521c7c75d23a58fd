"""FAQ sources: CSV and JSONL read into FAQ rows, or refused as a whole with
the file, the line and the reason."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from faq_core.errors import FAQSourceError
from faq_core.faqs import FAQ, derive_id, load_faqs, metadata_columns
from tests.core.conftest import write

CSV = """id,question,answer,url,alternates,tags
card,How do I get a replacement Medicare card?,Order one online.,https://www.medicare.gov/,\
I lost my card | My card was stolen,card|help
,What is TRICARE ?,"Health care for the military, in two lines:
see the TRICARE site.",,,
"""


def test_csv_happy_path(tmp_path: Path) -> None:
    faqs = load_faqs(write(tmp_path / "faqs.csv", CSV))
    assert len(faqs) == 2
    card, tricare = faqs
    assert card == FAQ(
        id="card",
        question="How do I get a replacement Medicare card?",
        answer="Order one online.",
        url="https://www.medicare.gov/",
        alternates=("I lost my card", "My card was stolen"),
        tags=("card", "help"),
    )
    assert card.phrasings == ("How do I get a replacement Medicare card?", "I lost my card", "My card was stolen")
    assert tricare.id == derive_id("What is TRICARE ?")
    assert tricare.answer == "Health care for the military, in two lines:\nsee the TRICARE site."
    assert tricare.url is None and tricare.alternates == () and tricare.tags == ()


def test_jsonl_happy_path(tmp_path: Path) -> None:
    rows = [
        {"id": 7, "question": "How do I sign up for Medicare?",
         "alternates": ["How do I apply?", " ", "How do I apply?"],
         "tags": ["enrollment"], "answer": "Apply online.", "url": None},
        {"question": "Should I sign up for Medicare Part B if I have Veterans’ Benefits?"},
    ]
    text = json.dumps(rows[0]) + "\n\n" + json.dumps(rows[1], ensure_ascii=False) + "\n"
    faqs = load_faqs(write(tmp_path / "faqs.jsonl", text))
    assert faqs[0].id == "7"  # numeric ids are accepted as text
    assert faqs[0].alternates == ("How do I apply?",)  # blanks dropped, duplicates merged
    assert faqs[0].tags == ("enrollment",)
    assert faqs[0].url is None
    assert faqs[1].question.endswith("Veterans’ Benefits?")
    assert faqs[1].id == derive_id(faqs[1].question)


def test_derived_ids_are_stable_and_independent_of_other_rows(tmp_path: Path) -> None:
    first = load_faqs(write(tmp_path / "a.csv", "question\nHow do I sign up?\nWhat is TRICARE ?\n"))
    second = load_faqs(write(tmp_path / "b.csv", "question,answer\nNew FAQ first?,x\nWhat is TRICARE ?,y\n"))
    assert first[1].id == second[1].id
    assert re.fullmatch(r"what-is-tricare-[0-9a-f]{6}", first[1].id)
    assert first[0].id != first[1].id
    assert derive_id("???") .startswith("faq-")  # nothing to slug: still a valid id


def refusal(path: Path) -> FAQSourceError:
    with pytest.raises(FAQSourceError) as caught:
        load_faqs(path)
    error = caught.value
    assert str(error).startswith(f"{path}:")
    return error


@pytest.mark.parametrize(
    ("name", "content", "line", "reason"),
    [
        ("missing.csv", "id,question\na,First?\nb,  \n", 3, "missing question"),
        ("missing.jsonl", '{"question": "ok?"}\n{"answer": "no question"}\n', 2, "missing question"),
        ("dup.csv", "id,question\na,One?\nb,Two?\na,Three?\n", 4, "duplicate id 'a' (first on line 2)"),
        ("dup-derived.jsonl", '{"question": "Same?"}\n{"question": "Same?"}\n', 2,
         "duplicate question 'Same?' (lines 1 and 2): merge the two, or give each an id"),
        ("dup-derived.csv", "question,answer\nSame?,a\nOther?,b\nSame?,c\n", 4,
         "duplicate question 'Same?' (lines 2 and 4)"),
        ("ragged.csv", "id,question,answer\na,One?,yes\nb,Two?\n", 3, "expected 3 fields, found 2"),
        ("ragged-after-multiline.csv", 'id,question,answer\na,One?,"two\nlines"\nb,Two?,x,extra\n', 4,
         "a value in column 4, which has no header"),
        ("beyond-header.csv", "id,question\na,One?,,stray\n", 2, "a value in column 4, which has no header"),
        ("semicolons.csv", "id;question;answer\na;One?;x\n", 1,
         "no 'question' column (found: id;question;answer); the file looks separated by semicolons: "
         "faq-bot reads comma-separated CSV"),
        ("tabs.csv", "id\tquestion\na\tOne?\n", 1, "the file looks separated by tabs"),
        ("javascript-url.csv", "question,url\nOne?,javascript:alert(1)\n", 2,
         "url (column 2) 'javascript:alert(1)' is not a link: a link must start with http:// or https://"),
        ("no-host-url.jsonl", '{"question": "One?", "url": "https://"}\n', 1,
         "url 'https://' is not a link: a link needs a host name"),
        ("relative-url.csv", "question,url\nOne?,wiki/vpn\n", 2, "is not a link"),
        ("repeated.csv", "id,question,owner,owner\na,One?,x,y\n", 1, "repeated column(s) owner"),
        ("stray.csv", "id,question,\na,One?,\nb,Two?,oops\n", 3, "a value in column 3, which has no header"),
        ("noquestion.csv", "id,answer\na,x\n", 1, "no 'question' column"),
        ("badjson.jsonl", '{"question": "ok?"}\n{"question": "b?",}\n', 2, "invalid JSON"),
        ("notobject.jsonl", '["question"]\n', 1, "must be a JSON object"),
        ("type-question.jsonl", '{"question": 5}\n', 1, "question must be a string, got int"),
        ("type-alternates.jsonl", '{"question": "a?", "alternates": [1, 2]}\n', 1, "alternates must be a list"),
        ("type-tags.jsonl", '{"question": "a?"}\n{"question": "b?", "tags": {"x": 1}}\n', 2, "tags must be a list"),
        ("type-answer.jsonl", '{"question": "a?", "answer": true}\n', 1, "answer must be a string, got bool"),
        ("badid.csv", "id,question\nhas space,One?\n", 2, "invalid id 'has space'"),
        ("badquote.csv", 'id,question\na,"unterminated\n', 2, "malformed CSV"),
    ],
)
def test_malformed_sources_are_refused_with_file_line_and_reason(
    tmp_path: Path, name: str, content: str, line: int, reason: str
) -> None:
    error = refusal(write(tmp_path / name, content))
    assert error.line == line
    assert reason in error.reason
    assert str(error) == f"{tmp_path / name}:{line}: {error.reason}"


def test_unreadable_encoding_names_the_line(tmp_path: Path) -> None:
    data = b"id,question\na,First?\nb,Second?\n" + b"c,Caf\xe9 au lait?\n"
    error = refusal(write(tmp_path / "latin1.csv", data))
    assert error.line == 4
    assert "UTF-8" in error.reason


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    faqs = load_faqs(write(tmp_path / "bom.csv", "\ufeffid,question\na,First?\n"))
    assert [f.id for f in faqs] == ["a"]


@pytest.mark.parametrize(
    ("name", "content"),
    [("empty.csv", ""), ("blank.jsonl", "\n  \n"), ("header-only.csv", "id,question\n"),
     ("blank-rows.csv", "question\n,\n")],
)
def test_empty_sources_are_refused(tmp_path: Path, name: str, content: str) -> None:
    error = refusal(write(tmp_path / name, content))
    assert error.line is None
    assert "empty file" in error.reason


def test_missing_file_and_unknown_type(tmp_path: Path) -> None:
    assert "file not found" in refusal(tmp_path / "nope.csv").reason
    assert "use .csv or .jsonl" in refusal(write(tmp_path / "faqs.xlsx", "question\nx?\n")).reason


def test_the_bundled_sample_holds_the_seed_questions_verbatim() -> None:
    from faq_core.sample import sample_source
    from tests.core.test_seed_vectors import SEED_ROWS

    faqs = load_faqs(sample_source())
    questions = [f.question for f in faqs]
    assert len(faqs) == 13
    assert questions[0] == "How do I get a replacement Medicare card?"
    assert questions[-1] == "Should I sign up for Medicare Part B if I have Veterans’ Benefits?"  # curly apostrophe
    assert {text for text, _, _ in SEED_ROWS} <= set(questions)
    assert all(f.answer for f in faqs)
    assert all(f.url is None or f.url.startswith("https://") for f in faqs)


def test_extra_columns_are_kept_as_each_faqs_metadata(tmp_path: Path) -> None:
    source = write(tmp_path / "sheet.csv", "ID,Question,Answer,Owner,Last reviewed,\n"
                                           "vpn,How do I use the VPN?,Install it.,  it-team ,2024-05-01,\n"
                                           "wifi,What is the wifi password?,Ask reception.,,2024-06-02,\n")
    vpn, wifi = load_faqs(source)
    assert (vpn.id, vpn.question, vpn.answer) == ("vpn", "How do I use the VPN?", "Install it.")
    assert vpn.metadata == {"Owner": "it-team", "Last reviewed": "2024-05-01"}
    assert wifi.metadata == {"Last reviewed": "2024-06-02"}  # a blank cell is no metadata
    assert metadata_columns([wifi, vpn]) == ["Last reviewed", "Owner"]
    rows = [{"question": "a?", "owner": "hr", "reviewed": {"by": "kim", "on": "2024-01-01"}, "votes": 3},
            {"question": "b?", "owner": None}]
    a, b = load_faqs(write(tmp_path / "faqs.jsonl", "\n".join(json.dumps(r) for r in rows)))
    assert a.metadata == {"owner": "hr", "reviewed": {"by": "kim", "on": "2024-01-01"}, "votes": 3}
    assert b.metadata == {} and metadata_columns([a, b]) == ["owner", "reviewed", "votes"]
    assert hash(a) == hash(FAQ(id=a.id, question="a?"))  # metadata takes no part in hashing


def test_blank_cells_beyond_the_header_are_accepted(tmp_path: Path) -> None:
    faqs = load_faqs(write(tmp_path / "export.csv", "id,question\na,One?,,\nb,Two?,\n"))  # a spreadsheet's export
    assert [f.id for f in faqs] == ["a", "b"]


# field -> (a CSV row over the limit, the column it is in)
LIMIT_CASES = {
    "question": ("id,question\na,{}\n", "question (column 2)", 1_000),
    "answer": ("question,answer\nOne?,{}\n", "answer (column 2)", 10_000),
    "url": ("question,url\nOne?,https://example.com/{}\n", "url (column 2)", 2_048),
    "alternates": ("question,alternates\nOne?,short|{}\n", "alternates (column 2): item 2", 1_000),
    "tags": ("question,tags\nOne?,{}\n", "tags (column 2): item 1", 100),
    "owner": ("question,owner\nOne?,{}\n", "owner (column 2)", 10_000),
}


@pytest.mark.parametrize("field", sorted(LIMIT_CASES))
def test_each_field_has_one_limit_named_with_file_line_and_column(tmp_path: Path, field: str) -> None:
    template, column, limit = LIMIT_CASES[field]
    at_limit = "x" * (limit - (len("https://example.com/") if field == "url" else 0))
    assert load_faqs(write(tmp_path / "ok.csv", template.format(at_limit)))  # exactly the limit is fine
    error = refusal(write(tmp_path / "long.csv", template.format(at_limit + "y")))
    assert error.line == 2
    assert error.reason == f"{column} is {limit + 1:,} characters long; the limit is {limit:,}"


def test_the_limits_are_the_same_in_jsonl_and_beyond_the_csv_modules_own(tmp_path: Path) -> None:
    huge = "Why " * 200_000  # 800,000 characters: past the csv module's 131,072 too
    csv_error = refusal(write(tmp_path / "big.csv", f"id,question\na,{huge}\n"))
    assert csv_error.reason == "question (column 2) is 799,999 characters long; the limit is 1,000"
    jsonl_error = refusal(write(tmp_path / "big.jsonl", json.dumps({"question": "ok?"}) + "\n"
                                + json.dumps({"question": "ok?", "alternates": ["fine", huge]}) + "\n"))
    assert (jsonl_error.line, jsonl_error.reason) == (
        2, "alternates: item 2 is 799,999 characters long; the limit is 1,000")
    meta_error = refusal(write(tmp_path / "meta.jsonl", json.dumps({"question": "a?", "notes": {"x": huge}}) + "\n"))
    assert meta_error.reason.startswith("notes is 800,") and meta_error.reason.endswith("the limit is 10,000")
    import csv

    assert csv.field_size_limit() == 131_072  # the csv module's limit is left as it was


def test_a_json_string_may_hold_a_line_separator(tmp_path: Path) -> None:
    text = json.dumps({"question": "One\u2028two?"}, ensure_ascii=False) + "\n" + json.dumps({"question": "b?"}) + "\n"
    faqs = load_faqs(write(tmp_path / "sep.jsonl", text))
    assert [f.question for f in faqs] == ["One\u2028two?", "b?"]


def test_a_url_needs_http_or_https_and_a_host(tmp_path: Path) -> None:
    faqs = load_faqs(write(tmp_path / "ok.csv", "question,url\nOne?,https://wiki/vpn\nTwo?,HTTP://Example.com/a\n"))
    assert [f.url for f in faqs] == ["https://wiki/vpn", "HTTP://Example.com/a"]
    for bad in ("file:///etc/passwd", "ftp://example.com/x", "//example.com", "https://exa mple.com"):
        assert "is not a link" in refusal(write(tmp_path / "bad.csv", f"question,url\nOne?,{bad}\n")).reason
