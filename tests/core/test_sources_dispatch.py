"""Choosing the reader (file type, then content), CSV and JSONL read exactly as
before and without the parsers, hostile input as one line, and an index built
from an FAQ page answering through the real ``faq-bot ask``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from faq_core.embedders import LocalEmbedder
from faq_core.errors import FAQSourceError
from faq_core.faqs import load_faqs
from faq_core.index import build_index, save_index
from faq_core.sources import Limits, load_source, read_source
from faq_core.threshold import with_auto_threshold
from tests.conftest import CLIResult
from tests.core.conftest import write

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
PARSERS = {"lxml", "openpyxl", "markdown_it"}


@pytest.mark.parametrize(("fixture", "content"), [
    ("faq-details.html", "html"), ("faq.md", "markdown"), ("zendesk-articles.json", "json")])
def test_a_file_without_a_telling_name_is_read_by_its_content(tmp_path: Path, fixture: str, content: str) -> None:
    renamed = write(tmp_path / "faq-export", (FIXTURES / fixture).read_bytes())
    assert [row.fields for row in read_source(renamed)] == [row.fields for row in read_source(FIXTURES / fixture)]


def test_what_cannot_be_told_apart_is_named(tmp_path: Path) -> None:
    with pytest.raises(FAQSourceError, match=r"faq.txt: cannot tell what kind of FAQ source this is: name it "
                                             r"\.html, \.md, \.json \(Zendesk or Intercom\), \.xlsx, \.csv or \.jsonl"):
        read_source(write(tmp_path / "faq.txt", "just some words\n"))


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p / "missing.html", "missing.html: file not found"),
    (lambda p: (p / "folder.md").mkdir() or p / "folder.md", "folder.md: is a folder, not an FAQ source file"),
    (lambda p: write(p / "empty.html", " \n"), "empty.html: empty file: no FAQs"),
    (lambda p: write(p / "big.html", b"<p>" + b"x" * 2000 + b"</p>"), r"big.html: too large: 2 KiB \(the limit is "
                                                                      r"1 KiB a source\)"),
])
def test_files_that_cannot_be_read(tmp_path: Path, make: Callable[[Path], Path], message: str) -> None:
    with pytest.raises(FAQSourceError, match=message):
        read_source(make(tmp_path), limits=Limits(max_bytes=1024))


@pytest.mark.parametrize(("content", "message"), [
    (b"<html><body>" + b"<div>" * 100_000 + b"<h2>Is it deep?</h2><p>Yes.</p>" + b"</div>" * 100_000,
     r"page.html:1: elements nested more than 256 deep: not a page faq-bot reads"),
    (b"<html><body><h2>Is it long?</h2><p>" + b"x" * 11_000_000 + b"</p>",
     r"page.html:1: beyond a limit of the HTML parser"),
    ("<h2>Où est-ce ?</h2><p>Là.</p>".encode("latin-1"), r"page.html:1: not UTF-8 and declares no charset"),
    (b"<meta charset='x-klingon'><h2>Q?</h2><p>A.</p>", r"page.html: declares the unknown charset 'x-klingon'"),
    (b"<h2>Q?</h2>\n<p>binary \x00 data</p>", r"page.html:2: holds binary data"),
])
def test_hostile_pages_are_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    with pytest.raises(FAQSourceError, match=message):
        read_source(write(tmp_path / "page.html", content))


@pytest.mark.parametrize("encoding", ["iso-8859-1", "windows-1251", "shift_jis"])
def test_a_declared_charset_is_honoured(tmp_path: Path, encoding: str) -> None:
    question = {"iso-8859-1": "Où est mon carnet ?", "windows-1251": "Где мой блокнот?",
                "shift_jis": "ノートはどこですか?"}[encoding]
    page = f'<html><head><meta charset="{encoding}"></head><body><h2>{question}</h2><p>Ici.</p></body></html>'
    [row] = read_source(write(tmp_path / "page.html", page.encode(encoding)))
    assert row.fields["question"] == question


def test_csv_and_jsonl_are_read_as_always(tmp_path: Path) -> None:
    csv_file = write(tmp_path / "faqs.csv", "id,question,answer,owner\nvpn,How do I connect?,Install it.,Ana\n")
    assert load_source(csv_file) == load_faqs(csv_file)
    jsonl = write(tmp_path / "faqs.jsonl", json.dumps({"question": "Is it free?", "tags": ["billing"]}) + "\n")
    assert load_source(str(jsonl)) == load_faqs(jsonl)
    with pytest.raises(FAQSourceError, match="a CSV or JSONL FAQ file: read it with load_source or load_faqs"):
        read_source(csv_file)
    with pytest.raises(FAQSourceError, match="a sheet was named"):
        load_source(csv_file, sheet="FAQ")


def test_reading_csv_through_load_source_imports_no_parser(tmp_path: Path) -> None:
    source = write(tmp_path / "faqs.csv", "question,answer\nIs it free?,Yes.\n")
    code = ("import json, sys; from faq_core.sources import load_source; load_source(sys.argv[1]); "
            "print(json.dumps(sorted(m for m in sys.modules if '.' not in m)))")
    loaded = subprocess.run([sys.executable, "-c", code, str(source)], capture_output=True, text=True, check=True)
    assert not set(json.loads(loaded.stdout)) & PARSERS


def test_an_index_built_from_an_faq_page_answers(tmp_path: Path, local_embedder: LocalEmbedder,
                                                 run_cli: Callable[..., CLIResult]) -> None:
    faqs = load_source(FIXTURES / "faq-jsonld.html")
    index = with_auto_threshold(build_index(faqs, local_embedder, source_name="faq-jsonld.html"))
    save_index(index, tmp_path / "index")
    result = run_cli(["ask", "--json", "--index", str(tmp_path / "index"), "Is Quillpad usable offline?",
                      "how much does it cost"], EMBEDDING_BACKEND="local")
    assert result.code == 0, result.err
    first, second = (json.loads(line) for line in result.out.splitlines())
    assert first["answered"] and first["matches"][0]["faq_id"] == "offline"
    assert first["matches"][0]["url"] == "https://www.quillpad.example/faq#offline"
    # A six-FAQ page sets a high automatic threshold; the closest FAQ is still the right one.
    assert second["matches"][0]["faq_id"] == faqs[2].id and "6 €" in second["matches"][0]["answer"]
    info = run_cli(["index", "info", str(tmp_path / "index"), "--faqs"])
    rows = [json.loads(line) for line in info.out.splitlines() if line.startswith("{")]
    # the FAQ's place on the page is its url; no path of the machine that read it is kept as metadata
    assert [row["metadata"] for row in rows] == [{}] * len(faqs)
