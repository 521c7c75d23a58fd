"""Help-center articles: Zendesk Guide and Intercom exports read from files, and
fetched page by page from their APIs (a local stand-in speaking their
documented JSON) with tokens that go nowhere else and never show in errors."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from faq_core.errors import FAQSourceError, SourceFetchError
from faq_core.settings import load_settings
from faq_core.sources import HelpCenterAuth, Limits, read_source
from faq_core.sources.helpcenter import api_kind, read_articles_json
from tests.core.conftest import write
from tests.stubs.helpcenter import (
    INTERCOM_TOKEN,
    ZENDESK_EMAIL,
    ZENDESK_OAUTH,
    ZENDESK_TOKEN,
    HelpCenterStub,
    intercom_article,
    zendesk_article,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
ZENDESK = HelpCenterAuth(zendesk_token=ZENDESK_TOKEN, zendesk_email=ZENDESK_EMAIL)
INTERCOM = HelpCenterAuth(intercom_token=INTERCOM_TOKEN)
FAST = Limits(read_timeout=5, deadline=20, max_retry_wait=2)


def test_a_zendesk_export() -> None:
    rows = read_source(FIXTURES / "zendesk-articles.json")
    faqs = {row.fields["id"]: row.fields for row in rows}
    assert list(faqs) == ["zendesk-4410000001", "zendesk-4410000002", "zendesk-4410000003",
                          "zendesk-4410000005"]  # the draft is skipped
    share = faqs["zendesk-4410000001"]
    assert share["question"] == "How do I share a notebook?"
    assert share["url"] == "https://quillpad.zendesk.com/hc/en-us/articles/4410000001-How-do-I-share-a-notebook"
    assert share["answer"] == ("Open the notebook and choose Share.\n1. Type your teammates' emails.\n"
                               "2. Pick Can edit or Can view.\n"
                               "Read more in Guests (https://quillpad.zendesk.com/hc/en-us/articles/4410000002).")
    assert share["tags"] == ["sharing", "notebooks", "Sharing and guests"]  # labels, then the sideloaded section
    assert faqs["zendesk-4410000002"]["answer"] == "Yes — guests see only what you share with them."  # no script
    assert faqs["zendesk-4410000005"]["tags"] == []  # a section that was not sideloaded, no labels
    assert rows[0].source == f"{FIXTURES / 'zendesk-articles.json'}#article-4410000001"


def test_an_intercom_export() -> None:
    faqs = {row.fields["id"]: row.fields for row in read_source(FIXTURES / "intercom-articles.json")}
    assert list(faqs) == ["intercom-6100001", "intercom-6100002", "intercom-6100004"]  # the draft is skipped
    assert faqs["intercom-6100001"]["tags"] == ["appearance"]
    assert faqs["intercom-6100001"]["answer"] == ("Open Settings › Appearance and pick Dark.\n"
                                                  "It follows your system setting by default.")
    assert faqs["intercom-6100002"]["answer"].endswith("Still stuck? See our status page "
                                                       "(https://status.quillpad.example).")
    assert faqs["intercom-6100004"]["answer"] == "Yes, from the File menu."  # an empty body: the description


@pytest.mark.parametrize("shape", ["list-of-pages", "bare-list", "one-article"])
def test_other_export_layouts(tmp_path: Path, shape: str) -> None:
    page = json.loads((FIXTURES / "zendesk-articles.json").read_text(encoding="utf-8"))
    document = {"list-of-pages": [page, {"articles": [zendesk_article(1)], "next_page": None}],
                "bare-list": page["articles"], "one-article": {"article": page["articles"][0]}}[shape]
    rows = read_source(write(tmp_path / "export.json", json.dumps(document)))
    ids = [row.fields["id"] for row in rows]
    expected = {"list-of-pages": ["zendesk-4410000001", "zendesk-4410000002", "zendesk-4410000003",
                                  "zendesk-4410000005", "zendesk-4500000001"],
                "bare-list": ["zendesk-4410000001", "zendesk-4410000002", "zendesk-4410000003", "zendesk-4410000005"],
                "one-article": ["zendesk-4410000001"]}[shape]
    assert ids == expected


def test_ids_do_not_change_when_articles_are_edited_or_reordered(tmp_path: Path) -> None:
    page = json.loads((FIXTURES / "intercom-articles.json").read_text(encoding="utf-8"))
    before = {row.fields["question"]: row.fields["id"] for row in read_articles_json(json.dumps(page).encode(), "a")}
    page["data"].reverse()
    page["data"][0]["body"] = "<p>Rewritten.</p>"
    page["data"].insert(1, intercom_article(9))
    after = {row.fields["question"]: row.fields["id"] for row in read_articles_json(json.dumps(page).encode(), "a")}
    assert after.pop("What is feature 9?") == "intercom-7000009"
    assert after == before


@pytest.mark.parametrize(("document", "message"), [
    ('{"articles": [{"id": 1, "title": "", "body": "x"}]}', r"export.json: article 1 \(id 1\) has no title"),
    ('{"articles": [{"id": "abc", "title": "T"}]}', r"export.json: article 1 has no numeric id"),
    ('{"articles": [{"id": 1, "title": "T", "body": 5}]}', r"article 1 \(id 1\): body must be HTML text"),
    ('{"articles": [{"id": 1, "title": "T", "label_names": "x"}]}', r"label_names must be a list of text"),
    ('{"articles": ["x"]}', r"article 1 is not a JSON object"),
    ('{"articles": [{"id": 1, "title": "T", "draft": true}]}', r"no published articles among 1 \(drafts"),
    ('{"articles": [{"id": 1, "title": "T", "locale": "en-us"}, {"id": 1, "title": "T", "locale": "de"}]}',
     r"article 2 \(id 1\) is also in locale en-us: read one locale per source"),
    ('{"users": []}', r"export.json: no FAQs found: expected a Zendesk Guide export"),
    ('{"articles": [\n{"id": 1,}]}', r"export.json:2: invalid JSON: Expecting property name"),
    ("[" * 100_000 + "]" * 100_000, r"export.json: invalid JSON: nested too deeply"),
    ('{"articles": [{"id": 1, "title": "T", "body": "' + "<div>" * 300 + '"}]}',
     r"export.json: article 1 \(id 1\): elements nested more than 256 deep"),
])
def test_malformed_exports_are_refused_naming_the_article(tmp_path: Path, document: str, message: str) -> None:
    with pytest.raises(FAQSourceError, match=message):
        read_source(write(tmp_path / "export.json", document))


def test_repeats_of_one_article_in_one_locale_are_read_once(tmp_path: Path) -> None:
    # Offset pagination over a help center edited meanwhile can list an article on two pages.
    pages = [{"articles": [zendesk_article(1), zendesk_article(2)]}, {"articles": [zendesk_article(2)]}]
    rows = read_source(write(tmp_path / "export.json", json.dumps(pages)))
    assert [row.fields["id"] for row in rows] == ["zendesk-4500000001", "zendesk-4500000002"]


@pytest.mark.parametrize(("url", "kind"), [
    ("https://quillpad.zendesk.com/api/v2/help_center/en-us/articles.json", "zendesk"),
    ("https://quillpad.zendesk.com/api/v2/help_center/articles.json?per_page=50", "zendesk"),
    ("https://quillpad.zendesk.com/api/v2/help_center/en-us/sections/12/articles.json", "zendesk"),
    ("https://api.intercom.io/articles", "intercom"),
    ("https://api.eu.intercom.io/articles?per_page=50", "intercom"),
    ("https://quillpad.zendesk.com/hc/en-us", None),
    ("https://www.quillpad.example/faq", None),
])
def test_api_urls_are_recognised(url: str, kind: str | None) -> None:
    assert api_kind(url) == kind


def zendesk_stub(count: int, *, drafts: tuple[int, ...] = ()) -> HelpCenterStub:
    return HelpCenterStub(zendesk={"en-us": [zendesk_article(n, draft=n in drafts) for n in range(1, count + 1)]},
                          sections=[{"id": 3_600_000_000 + k, "name": f"Section {k}"} for k in range(3)])


def test_zendesk_api_pages_with_an_api_token() -> None:
    with zendesk_stub(7, drafts=(3,)) as stub:
        rows = read_source(stub.zendesk_url(query="per_page=3"), auth=ZENDESK, limits=FAST)
    assert [row.fields["id"] for row in rows] == [f"zendesk-{4_500_000_000 + n}" for n in (1, 2, 4, 5, 6, 7)]
    assert rows[0].fields["tags"] == ["label-1", "Section 1"]
    assert [(seen.query.get("page"), seen.query.get("include")) for seen in stub.requests] == [
        (None, "sections"), ("2", "sections"), ("3", "sections")]
    pair = base64.b64encode(f"{ZENDESK_EMAIL}/token:{ZENDESK_TOKEN}".encode()).decode()
    assert {seen.headers["authorization"] for seen in stub.requests} == {f"Basic {pair}"}
    assert rows[0].source == f"{stub.zendesk_url(query='per_page=3')}#article-4500000001"


def test_zendesk_api_cursor_pagination_with_an_oauth_token() -> None:
    with zendesk_stub(5) as stub:
        rows = read_source(stub.zendesk_url(query="page[size]=2"), auth=HelpCenterAuth(zendesk_token=ZENDESK_OAUTH),
                           limits=FAST)
    assert len(rows) == 5 and len(stub.requests) == 3
    assert stub.requests[0].headers["authorization"] == f"Bearer {ZENDESK_OAUTH}"
    assert "per_page" not in stub.requests[0].query  # cursor pagination keeps its own page size


def test_a_public_help_center_needs_no_token() -> None:
    with zendesk_stub(4, drafts=(2,)) as stub:
        rows = read_source(stub.zendesk_url(), limits=FAST)
    assert len(rows) == 3 and "authorization" not in stub.requests[0].headers


def test_a_wrong_zendesk_token_is_one_line_without_the_token() -> None:
    with zendesk_stub(2) as stub, pytest.raises(FAQSourceError) as error:
        read_source(stub.zendesk_url(), auth=HelpCenterAuth(zendesk_token="zd_wrong_secret_value"), limits=FAST)
    assert type(error.value) is FAQSourceError
    assert "answered 401" in str(error.value) and "token is missing, wrong or lacks access" in str(error.value)
    assert "zd_wrong_secret_value" not in str(error.value)


def test_intercom_api_pages() -> None:
    articles = [intercom_article(n, state="draft" if n == 2 else "published") for n in range(1, 31)]
    with HelpCenterStub(intercom=articles) as stub:
        rows = read_source(stub.intercom_url(), auth=INTERCOM, limits=FAST)
    assert len(rows) == 29 and rows[0].fields["id"] == "intercom-7000001"
    assert [seen.query.get("page") for seen in stub.requests] == [None, "2"]
    assert {seen.headers["authorization"] for seen in stub.requests} == {f"Bearer {INTERCOM_TOKEN}"}
    assert {seen.headers["intercom-version"] for seen in stub.requests} == {"2.11"}


def test_intercom_without_a_token_is_refused_before_any_request() -> None:
    with HelpCenterStub(intercom=[intercom_article(1)]) as stub, \
            pytest.raises(FAQSourceError, match="INTERCOM_TOKEN is not set"):
        read_source(stub.intercom_url(), limits=FAST)
    assert stub.requests == []


def test_rate_limits_are_waited_out_and_server_failures_are_a_fetch_error() -> None:
    with zendesk_stub(3) as stub:
        stub.fail("/api/v2/help_center/", 429, times=2, headers={"Retry-After": "0"})
        assert len(read_source(stub.zendesk_url(), limits=FAST)) == 3
        assert len(stub.requests) == 3
        stub.fail("/api/v2/help_center/", 500, times=10)
        with pytest.raises(SourceFetchError, match=r"answered 500 .*; try again later"):
            read_source(stub.zendesk_url(), limits=FAST)
        stub.fail("/api/v2/help_center/", 429, times=10, headers={"Retry-After": "3600"})
        with pytest.raises(SourceFetchError, match="answered 429"):  # too long to wait: not waited for
            read_source(stub.zendesk_url(), limits=FAST)


def test_a_next_page_on_another_origin_is_not_followed_with_the_token() -> None:
    with zendesk_stub(4) as stub, HelpCenterStub() as elsewhere:
        stub.zendesk_next_override = elsewhere.zendesk_url(query="page=2")
        with pytest.raises(FAQSourceError, match="another origin: not followed"):
            read_source(stub.zendesk_url(query="per_page=2"), auth=ZENDESK, limits=FAST)
    assert elsewhere.requests == []


def test_a_next_page_that_loops_is_stopped() -> None:
    with zendesk_stub(4) as stub:
        stub.zendesk_next_override = stub.zendesk_url(query="per_page=2&include=sections")
        with pytest.raises(FAQSourceError, match="next page is one already read"):
            read_source(stub.zendesk_url(query="per_page=2"), limits=FAST)


def test_too_many_pages_or_bytes_for_one_source() -> None:
    with zendesk_stub(9) as stub:
        with pytest.raises(FAQSourceError, match="more than 2 pages of articles"):
            read_source(stub.zendesk_url(query="per_page=2"), limits=Limits(max_pages=2))
        with pytest.raises(FAQSourceError, match="too large"):
            read_source(stub.zendesk_url(query="per_page=2"), limits=Limits(max_bytes=3000))


def test_a_token_is_never_sent_unencrypted_to_another_machine() -> None:
    with pytest.raises(FAQSourceError, match="ZENDESK_API_TOKEN would travel unencrypted"):
        read_source("http://quillpad.zendesk.example/api/v2/help_center/articles.json", auth=ZENDESK)


def test_credentials_come_from_settings_and_stay_out_of_repr() -> None:
    settings = load_settings({"ZENDESK_API_TOKEN": ZENDESK_TOKEN, "ZENDESK_EMAIL": ZENDESK_EMAIL,
                              "INTERCOM_TOKEN": INTERCOM_TOKEN})
    auth = HelpCenterAuth.from_settings(settings)
    assert auth == HelpCenterAuth(ZENDESK_TOKEN, ZENDESK_EMAIL, INTERCOM_TOKEN)
    assert ZENDESK_TOKEN not in repr(auth) and INTERCOM_TOKEN not in repr(settings)
    assert {ZENDESK_TOKEN, INTERCOM_TOKEN} <= set(settings.secrets())
