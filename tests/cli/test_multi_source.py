"""``faq-bot index build`` with several sources, run as a user runs it: one
index whose FAQs name their sources, ``index diff`` grouped by source, and a
failing source refusing the build with one line and nothing written."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from tests.cli.test_cli import assert_clean_error
from tests.conftest import CLIResult
from tests.core.conftest import write

Run = Callable[..., CLIResult]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
EXTRA = "id,question,answer,alternates\nvpn,How do I connect to the VPN?,Install the client.,VPN not working\n"


def page(*items: tuple[str, str, str]) -> str:
    """An FAQ page of ``<details>`` items: (anchor, question, answer)."""
    body = "".join(f'<details id="{a}"><summary>{q}</summary><p>{text}</p></details>' for a, q, text in items)
    return f"<!doctype html><html><body><main>{body}</main></body></html>"


PAY = ("billing", "How do I pay for Quillpad?", "By card or invoice.")
EXPORT = ("export", "Can I export my notes?", "Yes, as Markdown or PDF.")
OFFLINE = ("offline", "Does Quillpad work offline?", "Yes, on desktop.")


def test_several_sources_build_one_index_and_the_diff_groups_by_source(run_cli: Run, tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "zendesk-articles.json", tmp_path / "help-center.json")
    write(tmp_path / "faq.html", page(PAY, EXPORT))
    write(tmp_path / "extra.csv", EXTRA)
    built = run_cli(["index", "build", "faq.html", "help-center.json", "extra.csv", "--out", "v1"])
    assert built.code == 0, built.err
    # the export's four published articles (its draft is left out)
    assert built.out.startswith("wrote v1: 7 FAQs (faq.html 2, help-center.json 4, extra.csv 1), 8 phrasings")
    listed = [json.loads(line) for line in run_cli(["index", "info", "v1", "--faqs"]).out.splitlines()]
    assert [(row["id"], row["source"]) for row in listed][:2] == [("billing", "faq.html"), ("export", "faq.html")]
    assert listed[-1]["id"] == "vpn" and listed[-1]["source"] == "extra.csv"
    meta = json.loads(run_cli(["index", "info", "v1"]).out)
    assert meta["sources"] == ["faq.html", "help-center.json", "extra.csv"]
    assert meta["source_name"] == "faq.html, help-center.json, extra.csv" and len(meta["source_sha256"]) == 64

    # the page gains an FAQ above the others, loses one and edits one; the CSV gains a phrasing
    write(tmp_path / "faq.html", page(OFFLINE, (PAY[0], PAY[1], "By card, invoice or bank transfer.")))
    write(tmp_path / "extra.csv", EXTRA.replace("VPN not working", "VPN not working|cannot reach the VPN"))
    rebuilt = run_cli(["index", "build", "faq.html", "help-center.json", "extra.csv", "--out", "v2"])
    assert rebuilt.code == 0, rebuilt.err
    diff = run_cli(["index", "diff", "v1", "v2"])
    assert diff.code == 0, diff.err
    assert diff.out.splitlines() == [
        "v1 -> v2: 1 FAQ added, 1 edited, 1 removed; 2 phrasings added, 1 removed",
        "source faq.html: 1 added, 1 edited, 1 removed, 0 FAQs rephrased",
        "  + FAQ offline",
        "  - FAQ export",
        "  ~ FAQ billing (answer changed)",
        "source extra.csv: 0 added, 0 edited, 0 removed, 1 FAQ rephrased",
        "  ~ FAQ vpn",
        "      + phrasing: cannot reach the VPN",
    ]


def test_a_failing_source_among_several_writes_nothing(run_cli: Run, tmp_path: Path) -> None:
    write(tmp_path / "faq.html", page(PAY, EXPORT))
    write(tmp_path / "extra.csv", EXTRA)
    missing = run_cli(["index", "build", "faq.html", "nosuch.md", "extra.csv", "--out", "out"])
    assert assert_clean_error(missing, 2) == "faq-bot: error: nosuch.md: file not found"
    assert not (tmp_path / "out").exists()

    built = run_cli(["index", "build", "faq.html", "extra.csv", "--out", "out"])
    assert built.code == 0, built.err
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()}
    # a source that fails mid-way (a malformed row after good ones), another that yields nothing
    write(tmp_path / "more.csv", "id,question,answer\nok,Fine?,Yes.\nbad,,No question here.\n")
    write(tmp_path / "about.html", "<html><body><h1>About us</h1><p>We make notebooks.</p></body></html>")
    failed = run_cli(["index", "build", "faq.html", "more.csv", "about.html", "--out", "out"])
    line = assert_clean_error(failed, 2)
    assert line.startswith("faq-bot: error: more.csv:3: missing question (and 1 more source failed: about.html)")
    after = {p.name: p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert after == before  # the index there is untouched

    write(tmp_path / "other.csv", "id,question,answer\nexport,Export?,See the menu.\n")
    clash = run_cli(["index", "build", "faq.html", "other.csv", "--out", "clash"])
    assert assert_clean_error(clash, 2) == (
        "faq-bot: error: other.csv: the id 'export' is also in faq.html: ids must be unique across sources "
        "(give one of them another id or anchor)")
    assert not (tmp_path / "clash").exists()
