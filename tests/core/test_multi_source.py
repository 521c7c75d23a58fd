"""Several FAQ sources read into one list: each FAQ names its source, ids are
the sources' own (stable when a page changes), and any failure refuses the
lot in one line that names every source that failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from faq_core.errors import FAQSourceError, SourceFetchError
from faq_core.sources import Limits, load_sources, source_labels
from tests.core.conftest import write
from tests.stubs.web import Page, WebStub

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
EXTRA = "id,question,answer\nvpn,How do I connect to the VPN?,Install the client.\n"
FAST = Limits(connect_timeout=2, read_timeout=1, deadline=4, max_retry_wait=1)


def page(*questions: tuple[str, str]) -> str:
    """A page of ``<details>`` FAQs, each with its own anchor."""
    items = "".join(f'<details id="{anchor}"><summary>{text}</summary>Answer to {text}</details>'
                    for anchor, text in questions)
    return f"<!doctype html><html><body><main>{items}</main></body></html>"


def test_every_faq_names_its_source_and_keeps_the_sources_own_id(tmp_path: Path) -> None:
    extra = write(tmp_path / "extra.csv", EXTRA)
    read = load_sources([FIXTURES / "faq-jsonld.html", FIXTURES / "zendesk-articles.json", extra])
    assert read.labels == ["faq-jsonld.html", "zendesk-articles.json", "extra.csv"]
    by_source: dict[str | None, list[str]] = {}
    for faq in read.faqs:
        by_source.setdefault(faq.source, []).append(faq.id)
    assert list(by_source) == read.labels
    assert "share-notebook" in by_source["faq-jsonld.html"]  # the page's anchor
    assert "zendesk-4410000001" in by_source["zendesk-articles.json"]  # the article id
    assert by_source["extra.csv"] == ["vpn"]
    assert read.tabular == frozenset({"extra.csv"})
    assert all(not faq.metadata for faq in read.faqs if faq.source != "extra.csv")


def test_ids_stay_when_a_page_gains_an_faq_above_the_others(tmp_path: Path) -> None:
    before = load_sources([write(tmp_path / "faq.html", page(("billing", "How do I pay?"),
                                                             ("export", "Can I export my notes?")))])
    after = load_sources([write(tmp_path / "faq.html", page(("offline", "Does it work offline?"),
                                                            ("billing", "How do I pay?"),
                                                            ("export", "Can I export my notes?")))])
    assert [f.id for f in before.faqs] == ["billing", "export"]
    assert [f.id for f in after.faqs] == ["offline", "billing", "export"]
    # without anchors, the id comes from the question, never from its position
    plain = "<html><body><details><summary>{}</summary>x</details><details><summary>{}</summary>y</details></body>"
    first = load_sources([write(tmp_path / "plain.html", plain.format("How do I pay?", "Can I export?"))])
    second = load_sources([write(tmp_path / "plain.html", plain.format("Is there an app?", "How do I pay?"))])
    assert first.faqs[0].id == second.faqs[1].id


def test_one_id_in_two_sources_names_both(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", EXTRA)
    other = write(tmp_path / "b.jsonl", '{"id": "vpn", "question": "VPN?", "answer": "Ask IT."}\n')
    with pytest.raises(FAQSourceError) as caught:
        load_sources([tmp_path / "a.csv", other])
    assert str(caught.value) == ("b.jsonl: the id 'vpn' is also in a.csv: ids must be unique across sources "
                                 "(give one of them another id or anchor)")


def test_failures_of_several_sources_are_one_line_naming_each(tmp_path: Path) -> None:
    good = write(tmp_path / "good.csv", EXTRA)
    empty = write(tmp_path / "nothing.html", "<html><body><p>Welcome to our site.</p></body></html>")
    with pytest.raises(FAQSourceError) as caught:
        load_sources([good, tmp_path / "missing.md", empty])
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'missing.md'}: ")
    assert message.endswith(f"(and 1 more source failed: {empty})") and "\n" not in message
    with pytest.raises(FAQSourceError, match=r"no FAQ"):
        load_sources([good, empty])


def test_a_source_given_twice_or_a_sheet_without_a_workbook_is_refused(tmp_path: Path) -> None:
    good = write(tmp_path / "good.csv", EXTRA)
    with pytest.raises(FAQSourceError, match=r"good.csv: is named twice: give each source once"):
        load_sources([good, tmp_path / "." / "good.csv"])
    with pytest.raises(FAQSourceError, match=r"--sheet was given, but no source is an .xlsx workbook"):
        load_sources([good], sheet="FAQ")
    with pytest.raises(FAQSourceError, match=r"give at least one FAQ source"):
        load_sources([])


def test_a_server_failing_is_a_network_failure_only_when_nothing_else_failed(tmp_path: Path) -> None:
    """A scheduled job tells "try again later" (exit 1) from "fix the input" (exit 2)."""
    good = write(tmp_path / "good.csv", EXTRA)
    with WebStub() as web:
        down = web.route("/faq", Page(b"", status=503))
        with pytest.raises(SourceFetchError):
            load_sources([good, down], limits=FAST)
        with pytest.raises(FAQSourceError) as caught:
            load_sources([down, tmp_path / "missing.csv"], limits=FAST)
        assert not isinstance(caught.value, SourceFetchError)
        assert "missing.csv" in str(caught.value)


def test_labels_are_names_not_machine_paths(tmp_path: Path) -> None:
    assert source_labels([tmp_path / "faq.html", "https://user:pw@help.example/faq?token=abc"]) == [
        "faq.html", "https://help.example/faq?token=***"]
    # two files of one name keep their paths as given, so they stay apart
    assert source_labels(["en/faq.md", "de/faq.md"]) == ["en/faq.md", "de/faq.md"]


def test_an_index_table_written_before_sources_loads_with_none(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from faq_core.index import IndexMeta
    from faq_core.index_tables import read_faqs, write_faqs

    read = load_sources([write(tmp_path / "extra.csv", EXTRA)])
    write_faqs(read.faqs, tmp_path / "new.parquet")
    [faq], _ = read_faqs([tmp_path / "new.parquet"])
    assert faq.source == "extra.csv"
    pq.write_table(pq.read_table(tmp_path / "new.parquet").drop_columns(["source"]), tmp_path / "old.parquet")
    [old], _ = read_faqs([tmp_path / "old.parquet"])
    assert old.source is None and old.id == "vpn"
    assert IndexMeta.from_json({"model_id": "m", "dim": 3}).sources == []
