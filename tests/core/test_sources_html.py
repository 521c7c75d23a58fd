"""The HTML page reader: every shape (JSON-LD, microdata, details, dl, headings),
the ids and urls it gives, clean answers, ids stable across a changed page, and
one clear line for what it cannot read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from faq_core.errors import FAQSourceError
from faq_core.faqs import derive_id
from faq_core.sources import read_source, to_faqs
from faq_core.sources.html import read_html
from faq_core.sources.rows import SourceRow
from tests.core.conftest import write
from tests.stubs.web import Page, WebStub

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
PAGES = ["faq-jsonld.html", "faq-microdata.html", "faq-details.html", "faq-dl.html", "faq-headings.html"]
MARKUP = re.compile(r"<[a-z/!]|&[a-z]+;|&#\d+;", re.IGNORECASE)


def rows_of(name: str, **kwargs: str) -> list[SourceRow]:
    return read_source(FIXTURES / name, **kwargs)


def by_question(rows: list[SourceRow]) -> dict[str, dict[str, object]]:
    return {row.fields["question"]: dict(row.fields) for row in rows}


def test_json_ld_faqpage_in_a_graph_with_references() -> None:
    rows = rows_of("faq-jsonld.html")
    faqs = by_question(rows)
    assert list(faqs) == ["How do I share a notebook with my team?", "Can I use Quillpad offline?",
                          "What does Quillpad cost?", "How do I export my notes?", "Where is my data stored?",
                          "How do I delete my account?"]  # JSON-LD wins over the page's one <details>
    share = faqs["How do I share a notebook with my team?"]
    assert share["id"] == "share-notebook"
    assert share["url"] == "https://www.quillpad.example/faq#share-notebook"
    assert share["answer"] == ("Open the notebook, choose Share, and add your teammates' emails.\n"
                               "- Editors can change pages.\n- Viewers can only read.")
    offline = faqs["Can I use Quillpad offline?"]  # "@id": "#offline", resolved against the canonical URL
    assert (offline["id"], offline["url"]) == ("offline", "https://www.quillpad.example/faq#offline")
    assert offline["answer"].endswith("See offline mode (https://www.quillpad.example/docs/offline).")
    assert faqs["How do I export my notes?"]["answer"] == "Use File > Export to get Markdown or PDF."
    cost = faqs["What does Quillpad cost?"]
    assert cost["id"] == derive_id("What does Quillpad cost?")
    assert cost["url"] == "https://www.quillpad.example/faq"
    assert cost["answer"] == "Free for up to 3 members.\nTeam is 6 € per member per month."
    stored = faqs["Where is my data stored?"]  # #q5 is numbered by position: the url keeps it, the id does not
    assert (stored["id"], stored["url"]) == (derive_id("Where is my data stored?"),
                                             "https://www.quillpad.example/faq#q5")
    assert faqs["How do I delete my account?"]["answer"].startswith("Settings → Account → Delete account.")
    assert {row.source for row in rows} >= {f"{FIXTURES / 'faq-jsonld.html'}#share-notebook"}


@pytest.mark.parametrize("wrap", ["list", "nested", "prefixed-type"])
def test_json_ld_as_a_list_nested_in_a_webpage_or_with_prefixed_types(tmp_path: Path, wrap: str) -> None:
    faq_page = {"@type": "FAQPage", "mainEntity": {"@type": "Question", "name": "Is Quillpad open source?",
                                                   "acceptedAnswer": {"@type": "Answer", "text": "No."}}}
    document: object = {
        "list": [{"@type": "Organization", "name": "Quillpad"}, faq_page],
        "nested": {"@type": "WebPage", "mainEntity": faq_page},
        "prefixed-type": faq_page | {"@type": ["schema:FAQPage", "https://schema.org/WebPage"]},
    }[wrap]
    page = write(tmp_path / "faq.html", f'<script type="application/ld+json">{json.dumps(document)}</script>'
                                        "<p>Hello</p>")
    [row] = read_source(page)
    assert (row.fields["question"], row.fields["answer"], row.fields["url"]) == ("Is Quillpad open source?", "No.",
                                                                                 None)


def test_microdata_faqpage() -> None:
    faqs = by_question(rows_of("faq-microdata.html"))
    assert list(faqs) == ["Can I make my own page templates?", "How do I import notes from another app?",
                          "Is there a mobile app?", "Does Quillpad support two-factor authentication?"]
    templates = faqs["Can I make my own page templates?"]
    assert (templates["id"], templates["url"]) == ("templates", "https://www.quillpad.example/help/faq#templates")
    assert templates["answer"] == ("Yes: save any page as a template from its ⋯ menu.\n"
                                   "Templates are shared with everyone in the workspace.")
    imported = faqs["How do I import notes from another app?"]  # an empty <a id> inside the heading
    assert imported["id"] == "import-evernote"
    assert "the import tool (https://www.quillpad.example/import)" in str(imported["answer"])
    assert faqs["Is there a mobile app?"]["answer"] == "Yes, for iOS and Android."  # <meta content>
    assert faqs["Does Quillpad support two-factor authentication?"]["answer"] == (
        "1. Open Settings › Security.\n2. Turn on Two-factor.")


def test_details_summary_outside_navigation() -> None:
    rows = rows_of("faq-details.html")
    faqs = by_question(rows)
    # The <nav>'s "Menu" and the question without an answer are not FAQs.
    assert list(faqs) == ["Can I invite guests who are not in my company?", "How do I restore a deleted page?",
                          "Can I pay by bank transfer?", "Do you offer discounts for schools?"]
    assert faqs["How do I restore a deleted page?"]["id"] == "restore-page"
    assert faqs["How do I restore a deleted page?"]["answer"] == ("Deleted pages stay in Trash for 30 days.\n"
                                                                  "Open Trash and choose Restore.")
    assert faqs["Can I pay by bank transfer?"]["answer"] == (
        "Yes, on yearly plans. Write to billing@quillpad.example.")  # mailto shown once
    # No anchor of its own: the id comes from the question, the source names the enclosing section.
    bank = next(row for row in rows if row.fields["question"] == "Can I pay by bank transfer?")
    assert bank.fields["id"] == derive_id("Can I pay by bank transfer?")
    assert bank.source.endswith("faq-details.html#billing")
    assert all(faq["url"] is None for faq in faqs.values())  # a saved page without a canonical link


def test_a_saved_page_takes_its_url_from_page_url() -> None:
    faqs = by_question(rows_of("faq-details.html", page_url="https://help.quillpad.example/faq?utm=x#top"))
    assert faqs["Can I invite guests who are not in my company?"]["url"] == (
        "https://help.quillpad.example/faq?utm=x#invite-guests")
    assert faqs["Can I pay by bank transfer?"]["url"] == "https://help.quillpad.example/faq?utm=x#billing"


def test_definition_lists() -> None:
    faqs = by_question(rows_of("faq-dl.html"))
    assert list(faqs) == ["How far back does page history go?", "Where are the keyboard shortcuts?",
                          "Can two people edit one page at once?", "Why can't I see a shared notebook?"]
    assert faqs["Where are the keyboard shortcuts?"]["alternates"] == ["Is there a list of shortcuts?"]
    assert faqs["Can two people edit one page at once?"]["answer"] == (
        "Yes, edits appear live for everyone on the page.\nEach person's cursor shows their name.")
    # A relative link on a page whose URL is unknown keeps its text only.
    assert faqs["Why can't I see a shared notebook?"]["answer"] == (
        "Ask its owner to check that your email is on the share list.")


def test_question_headings_and_their_sections() -> None:
    faqs = by_question(rows_of("faq-headings.html"))
    # "Accounts" and "Release notes" are not questions; "Questions?" in <nav>, "Still stuck?" in <footer>.
    assert list(faqs) == ["How do I reset my password?", "Can I change the email address I sign in with?",
                          "Can I merge two accounts?", "Which plan do I need?"]
    assert faqs["How do I reset my password?"]["answer"] == (
        "Choose Forgot password on the sign-in page. We email you a link that works for one hour.\n"
        "Note\nSingle sign-on accounts reset their password with their company instead.")  # deeper heading kept
    assert faqs["Can I change the email address I sign in with?"]["answer"] == (
        "Yes, under Settings › Profile.\nWe send a confirmation to both addresses.")  # text right after the heading
    assert faqs["Can I merge two accounts?"]["id"] == "two-accounts"  # <a name> just before the heading
    plans = faqs["Which plan do I need?"]  # a heading alone in a wrapper: its section follows the wrapper
    assert plans["id"] == "plans-compared"
    assert plans["answer"] == "Plan | Members | Price\nFree | up to 3 | 0 €\nTeam | unlimited | 6 € a member a month"


@pytest.mark.parametrize("name", PAGES)
def test_answers_and_questions_are_free_of_markup(name: str) -> None:
    rows = rows_of(name)
    assert rows
    for row in rows:
        for key in ("question", "answer"):
            text = str(row.fields[key])
            assert not MARKUP.search(text), (key, text)
            assert "RAN A SCRIPT" not in text and "attacker" not in text
            assert text == text.strip() and "  " not in text


# (fixture, text after which a new FAQ is inserted, the new FAQ, an answer text reworded)
CHANGES = {
    "faq-jsonld.html": ('"mainEntity": [', '{"@type": "Question", "name": "Is there an API?", "acceptedAnswer": '
                        '{"@type": "Answer", "text": "Yes."}},', ("Viewers can only read.", "Viewers read only.")),
    "faq-microdata.html": ('<h1 itemprop="name">Quillpad questions</h1>', '<div itemscope itemprop="mainEntity" '
                           'itemtype="https://schema.org/Question"><h2 itemprop="name">Is there an API?</h2><div '
                           'itemscope itemprop="acceptedAnswer" itemtype="https://schema.org/Answer"><p itemprop='
                           '"text">Yes.</p></div></div>', ("ENEX, Markdown", "ENEX and Markdown")),
    "faq-details.html": ('<section id="getting-started">', "<details><summary>Is there an API?</summary>Yes."
                         "</details>", ("for 30&nbsp;days", "for 60 days")),
    "faq-dl.html": ("<dl>", "<dt>Is there an API?</dt><dd>Yes.</dd>", ("90 days", "120 days")),
    "faq-headings.html": ('<h2 id="accounts">Accounts</h2>', "<h3>Is there an API?</h3><p>Yes.</p>",
                          ("for one hour", "for two hours")),
}


@pytest.mark.parametrize("name", PAGES)
def test_ids_are_stable_when_the_page_changes(tmp_path: Path, name: str) -> None:
    marker, new_faq, (old, new) = CHANGES[name]
    text = (FIXTURES / name).read_text(encoding="utf-8")
    assert marker in text and old in text
    changed = write(tmp_path / name, text.replace(marker, marker + new_faq, 1).replace(old, new, 1))
    before = {row.fields["question"]: row.fields["id"] for row in rows_of(name)}
    after_rows = read_source(changed)
    after = {row.fields["question"]: row.fields["id"] for row in after_rows}
    assert after.pop("Is there an API?") == derive_id("Is there an API?")
    assert after == before  # every other FAQ kept its id, the one with a reworded answer too
    assert any(new in str(row.fields["answer"]) for row in after_rows)


def test_shared_anchors_make_no_id(tmp_path: Path) -> None:
    page = write(tmp_path / "faq.html", '<details id="faq"><summary>Is it free?</summary>Yes.</details>'
                                        '<details id="faq"><summary>Is it fast?</summary>Very.</details>')
    ids = [row.fields["id"] for row in read_source(page)]
    assert ids == [derive_id("Is it free?"), derive_id("Is it fast?")]


def test_an_exact_repeat_is_read_once_and_a_conflicting_one_is_refused(tmp_path: Path) -> None:
    same = write(tmp_path / "same.html", "<details><summary>Is it free?</summary>Yes.</details>" * 2)
    assert len(read_source(same)) == 1
    clash = write(tmp_path / "clash.html", "<details><summary>Is it free?</summary>Yes.</details>\n"
                                           "<details><summary>Is it free?</summary>No.</details>")
    with pytest.raises(FAQSourceError, match=r"clash.html:2: two FAQs have the id 'is-it-free-\w+' "
                                             r"\(the other at line 1\)"):
        read_source(clash)


def test_rows_become_faqs_without_the_path_they_were_read_from() -> None:
    """The row names its place (for messages); the FAQ does not carry this machine's path into the index
    (an index names its sources by label: tests/core/test_multi_source.py)."""
    rows = rows_of("faq-headings.html")
    assert {row.source for row in rows} >= {f"{FIXTURES / 'faq-headings.html'}#reset-password"}
    faqs = {faq.id: faq for faq in to_faqs(rows)}
    assert faqs["reset-password"].metadata == {} and faqs["reset-password"].source is None
    assert faqs["reset-password"].url is None


def test_a_page_with_no_faqs_names_the_shapes_looked_for(tmp_path: Path) -> None:
    page = write(tmp_path / "about.html", "<h1>About Quillpad</h1><p>We make notebooks.</p>")
    with pytest.raises(FAQSourceError) as error:
        read_source(page)
    assert str(error.value) == (f"{page}: no FAQs found: looked for schema.org FAQPage (JSON-LD or microdata), "
                                "<details><summary>, <dl><dt><dd>, headings ending in '?' followed by their answer")


@pytest.mark.parametrize(("body", "message"), [
    ('<script type="application/ld+json">\n{"@type": "FAQPage", "mainEntity": [}</script>',
     r"page.html:1: a JSON-LD block is not valid JSON \(Expecting value, its line 2\)"),
    ('<script type="application/ld+json">{"@type": "FAQPage", "mainEntity": [{"@type": "Question", '
     '"acceptedAnswer": {"text": "x"}}]}</script>', r"page.html:1: JSON-LD FAQPage question 1 has no name"),
    ('<script type="application/ld+json">{"@type": "FAQPage", "mainEntity": ["a string"]}</script>',
     r"page.html:1: JSON-LD FAQPage question 1 is not an object"),
    ('<script type="application/ld+json">' + "[" * 100_000 + "]" * 100_000 + "</script>",
     r"page.html:1: a JSON-LD block is nested too deeply"),
    ('<div itemscope itemtype="https://schema.org/FAQPage">\n<div itemscope itemprop="mainEntity" '
     'itemtype="https://schema.org/Question"><p>no name</p></div></div>',
     r"page.html:2: microdata question at line 2 has no name"),
])
def test_malformed_structured_data_is_refused_with_its_line(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(FAQSourceError, match=message):
        read_html(body.encode(), str(tmp_path / "page.html"))


def test_another_json_ld_block_that_is_broken_is_named_only_when_nothing_is_found(tmp_path: Path) -> None:
    broken = '<script type="application/ld+json">{"@type": "Organization",</script>'
    ok = read_html((broken + "<details><summary>Is it free?</summary>Yes.</details>").encode(), "page.html")
    assert [row.fields["question"] for row in ok] == ["Is it free?"]
    with pytest.raises(FAQSourceError, match=r"no FAQs found \(a JSON-LD block is not valid JSON .* at line 1\)"):
        read_html((broken + "<p>nothing</p>").encode(), "page.html")


def test_fetching_a_page_runs_and_fetches_nothing_it_references() -> None:
    body = (FIXTURES / "faq-headings.html").read_bytes().replace(
        b"</head>", b'<script src="/tracker.js"></script><link rel="stylesheet" href="/style.css">'
        b'<script>fetch("/beacon")</script></head>').replace(
        b"<main>", b'<main><img src="/pixel.gif"><iframe src="/frame.html"></iframe>')
    with WebStub() as web:
        url = web.route("/help/faq", Page(body))
        rows = read_source(url)
    assert [seen.path for seen in web.requests] == ["/help/faq"]
    assert rows[0].fields["url"] == f"{url}#reset-password"  # a fetched page's URL is where it came from
