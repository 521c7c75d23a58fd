"""The Markdown reader: front matter ignored, the question level, sections as
clean answers, tags from section headings, anchors and urls, and its refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from faq_core.errors import FAQSourceError
from faq_core.faqs import derive_id
from faq_core.sources import read_source
from faq_core.sources.markdown import read_markdown
from tests.core.conftest import write

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"


def test_a_wiki_export_gives_one_faq_per_question_heading() -> None:
    rows = read_source(FIXTURES / "faq.md")
    faqs = {row.fields["question"]: row for row in rows}
    # The front matter's title, the page title, the section headings, the "####" note inside an answer and
    # the heading with nothing under it are not FAQs.
    assert list(faqs) == ["How do I reset my password?", "Can I change my email address?",
                          "What does Quillpad cost?", "How do I get an invoice?"]
    reset = faqs["How do I reset my password?"]
    assert reset.fields["id"] == "reset-password"  # the explicit {#anchor}, not shown in the question
    assert reset.line == 12 and reset.source == f"{FIXTURES / 'faq.md'}#reset-password"
    assert reset.fields["answer"] == (
        "Choose Forgot password on the sign-in page (https://app.quillpad.example/login). "
        "The link we email works for one hour.\n"
        "# not a heading: a comment in a code block\nquillpad auth reset --email you@example.com")
    assert reset.fields["tags"] == ["Accounts"]  # "# Quillpad FAQ" is the page's only h1: its title, no tag
    email = faqs["Can I change my email address?"].fields
    assert email["id"] == derive_id("Can I change my email address?")
    assert email["answer"] == ("Yes, under Settings › Profile.\nA note on single sign-on\n"
                               "Accounts that sign in with SSO change their email with their company.")
    assert faqs["What does Quillpad cost?"].fields["answer"] == "Plan | Price\nFree | 0 €\nTeam | 6 € a member a month"
    assert faqs["What does Quillpad cost?"].fields["tags"] == ["Billing"]
    # A reference-style link defined at the end of the file.
    assert faqs["How do I get an invoice?"].fields["answer"] == (
        "Every payment emails one; older ones are in the billing page (https://app.quillpad.example/billing).")
    assert all(row.fields["url"] is None for row in rows)


def test_with_the_page_url_each_faq_links_to_its_heading() -> None:
    rows = read_source(FIXTURES / "faq.md", page_url="https://wiki.quillpad.example/support/faq")
    urls = [row.fields["url"] for row in rows]
    assert urls == ["https://wiki.quillpad.example/support/faq#reset-password",
                    "https://wiki.quillpad.example/support/faq#can-i-change-my-email-address",
                    "https://wiki.quillpad.example/support/faq#what-does-quillpad-cost",
                    "https://wiki.quillpad.example/support/faq#how-do-i-get-an-invoice"]


def test_without_question_marks_the_most_used_level_is_the_question_level(tmp_path: Path) -> None:
    page = write(tmp_path / "faq.md", "# Runbook\n\n## Resetting a password\n\nUse the admin panel.\n\n"
                                      "### Note\n\nAsk first.\n\n## Rotating keys\n\nRun the script.\n")
    rows = read_source(page)
    assert [(row.fields["question"], row.fields["answer"]) for row in rows] == [
        ("Resetting a password", "Use the admin panel.\nNote\nAsk first."), ("Rotating keys", "Run the script.")]


def test_setext_headings_and_several_top_level_sections(tmp_path: Path) -> None:
    page = write(tmp_path / "faq.md", "Accounts\n========\n\nCan I rename my team?\n---------------------\n\n"
                                      "Yes.\n\nBilling\n=======\n\nCan I get a refund?\n-------------------\n\n"
                                      "Within 14 days.\n")
    rows = read_source(page)
    assert [(row.fields["question"], row.fields["tags"], row.line) for row in rows] == [
        ("Can I rename my team?", ["Accounts"], 4), ("Can I get a refund?", ["Billing"], 12)]


def test_toml_front_matter_is_ignored_and_lines_stay_true(tmp_path: Path) -> None:
    page = write(tmp_path / "faq.md", '+++\ntitle = "Why read this?"\n+++\n\n## Is it free?\n\nYes.\n')
    [row] = read_source(page)
    assert (row.fields["question"], row.line) == ("Is it free?", 5)


@pytest.mark.parametrize(("content", "message"), [
    (b"Just a paragraph.\n\nAnother one.\n", r"faq.md: no FAQs found: looked for headings \(# …\) each followed"),
    (b"## Is it free?\n\n## Is it fast?\n", r"no FAQs found"),
    (b"## Is it free?\n\nOui, c'est gratuit \xe9t\xe9.\n", r"faq.md:3: not UTF-8 and declares no charset"),
    (b"## Is it free?\n\n" + b"> " * 30 + b"deep\n\n## Is it fast?\n\nYes.\n",
     r"faq.md:3: blockquotes or lists nested 20 deep"),
    (b"## Is it free?\n\n" + b"".join(b"  " * i + b"- x\n" for i in range(40)) + b"\n## Is it fast?\n\nYes.\n",
     r"faq.md:\d+: blockquotes or lists nested 20 deep"),
])
def test_what_cannot_be_read_is_one_line(content: bytes, message: str) -> None:
    with pytest.raises(FAQSourceError, match=message):
        read_markdown(content, "faq.md")


def test_raw_html_in_markdown_is_cleaned_like_any_answer(tmp_path: Path) -> None:
    page = write(tmp_path / "faq.md", "## Is it safe?\n\n<div>Yes<script>alert(1)</script>, "
                                      "<b>very</b>.</div>\n")
    [row] = read_source(page)
    assert row.fields["answer"] == "Yes, very."
