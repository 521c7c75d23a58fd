"""Fetching a source over HTTP against a local server: redirects (counted, each
re-checked, credentials dropped off-origin), timeouts and a deadline, a size cap
streamed and after decompression, content types and charsets, and http(s) only."""

from __future__ import annotations

import pytest

from faq_core.errors import FAQSourceError, SourceFetchError
from faq_core.sources import Limits, read_source
from faq_core.sources.fetch import display_url, fetch
from tests.core.conftest import closed_port
from tests.stubs.web import Page, WebStub

HTML = b"<html><body><details><summary>Is Quillpad free?</summary>For up to 3 members.</details></body></html>"
FAST = Limits(connect_timeout=2, read_timeout=1, deadline=4, max_retry_wait=1)
ACCEPT = ("text/html",)


def test_a_page_is_read_from_a_url() -> None:
    with WebStub() as web:
        [row] = read_source(web.route("/faq", Page(HTML)), limits=FAST)
    assert row.fields["question"] == "Is Quillpad free?"
    assert web.requests[0].headers["user-agent"].startswith("faq-bot")


def test_up_to_five_redirects_are_followed_relative_or_absolute() -> None:
    with WebStub() as web:
        web.route("/faq", Page(HTML))
        for hop in range(1, 6):
            target = "/faq" if hop == 5 else (f"/r{hop + 1}" if hop % 2 else web.url(f"/r{hop + 1}"))
            web.route(f"/r{hop}", Page(b"", status=301 if hop % 2 else 307, headers={"Location": target}))
        fetched = fetch(web.url("/r1"), accept=ACCEPT, limits=FAST)
        assert fetched.url == web.url("/faq") and fetched.data == HTML
        web.route("/r0", Page(b"", status=302, headers={"Location": "/r1"}))
        with pytest.raises(FAQSourceError, match=r"/r0: more than 5 redirects: not followed"):
            fetch(web.url("/r0"), accept=ACCEPT, limits=FAST)


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://files.quillpad.example/faq.html",
                                    "javascript:alert(1)", "gopher://x/"])
def test_a_redirect_to_another_scheme_is_refused(target: str) -> None:
    with WebStub() as web:
        url = web.route("/faq", Page(b"", status=302, headers={"Location": target}))
        with pytest.raises(FAQSourceError, match=r"redirects to .*which is not read: only http:// and https://"):
            fetch(url, accept=ACCEPT, limits=FAST)


def test_credentials_are_not_sent_to_another_origin_after_a_redirect() -> None:
    with WebStub() as web, WebStub() as other:
        other.route("/faq", Page(HTML))
        url = web.route("/faq", Page(b"", status=302, headers={"Location": other.url("/faq")}))
        fetch(url, accept=ACCEPT, limits=FAST, headers={"Authorization": "Bearer secret-token-1"})
    assert web.requests[0].headers["authorization"] == "Bearer secret-token-1"
    assert "authorization" not in other.requests[0].headers


@pytest.mark.parametrize("url", ["ftp://files.quillpad.example/faq.html", "file:///etc/passwd", "http:///nohost",
                                 "https://quillpad.example:99999/faq"])
def test_only_http_urls_with_a_host_are_read(url: str) -> None:
    with pytest.raises(FAQSourceError, match=r"only http:// and https:// URLs|no host|not a valid URL"):
        read_source(url)


def test_nothing_listening_is_a_fetch_error() -> None:
    with pytest.raises(SourceFetchError, match="could not connect"):
        read_source(f"http://127.0.0.1:{closed_port()}/faq", limits=FAST)


def test_a_server_that_does_not_answer_in_time() -> None:
    with WebStub() as web:
        url = web.route("/slow", Page(HTML, delay=3))
        with pytest.raises(SourceFetchError, match=r"no answer within 1 s"):
            fetch(url, accept=ACCEPT, limits=FAST)


def test_a_body_that_trickles_meets_the_deadline() -> None:
    with WebStub() as web:
        url = web.route("/trickle", Page(HTML * 10, trickle=0.05))
        with pytest.raises(SourceFetchError, match=r"still arriving after 2 s"):
            fetch(url, accept=ACCEPT, limits=Limits(read_timeout=1, deadline=2))


def test_a_body_that_stalls() -> None:
    with WebStub() as web:
        url = web.route("/stall", Page(HTML, trickle=1.5))
        with pytest.raises(SourceFetchError, match=r"the answer stalled: nothing for 1 s"):
            fetch(url, accept=ACCEPT, limits=FAST)


@pytest.mark.parametrize("declared", [True, False])
def test_a_body_over_the_cap_is_refused_whether_or_not_its_length_is_declared(declared: bool) -> None:
    with WebStub() as web:
        url = web.route("/big", Page(b"<p>" + b"x" * 300_000 + b"</p>", length=declared))
        with pytest.raises(FAQSourceError, match=r"too large: more than 100 KiB"):
            fetch(url, accept=ACCEPT, limits=Limits(max_bytes=100 * 1024))


def test_a_compressed_body_is_capped_once_unpacked() -> None:
    with WebStub() as web:
        url = web.route("/bomb", Page(b"<p>" + b"\0" * 50_000_000 + b"</p>", gzip=True))
        with pytest.raises(FAQSourceError, match=r"too large: more than 1 MiB"):
            fetch(url, accept=ACCEPT, limits=Limits(max_bytes=1024 * 1024))
        small = web.route("/small", Page(HTML, gzip=True))
        assert fetch(small, accept=ACCEPT, limits=FAST).data == HTML


@pytest.mark.parametrize(("content_type", "message"), [
    ("image/png", r"serves image/png, not an FAQ source"),
    (None, r"serves no Content-Type, not an FAQ source"),
    ("application/octet-stream", r"serves application/octet-stream"),
])
def test_a_wrong_content_type_is_refused(content_type: str | None, message: str) -> None:
    with WebStub() as web:
        url = web.route("/faq", Page(HTML, content_type=content_type))
        with pytest.raises(FAQSourceError, match=message):
            read_source(url, limits=FAST)


@pytest.mark.parametrize(("status", "error", "message"), [
    (404, FAQSourceError, r"answered 404 Not Found: check the URL"),
    (403, FAQSourceError, r"answered 403 Forbidden: the token is missing"),
    (500, SourceFetchError, r"answered 500 Internal Server Error; try again later"),
    (418, FAQSourceError, r"answered 418"),
])
def test_error_statuses(status: int, error: type[Exception], message: str) -> None:
    with WebStub() as web:
        url = web.route("/faq", Page(b"", status=status))
        with pytest.raises(error, match=message) as raised:
            read_source(url, limits=FAST)
    assert isinstance(raised.value, FAQSourceError) and (type(raised.value) is SourceFetchError) == (status == 500)


def test_a_charset_from_the_header_wins_over_utf8() -> None:
    page = "<details><summary>Où est mon carnet ?</summary>Dans la corbeille.</details>".encode("latin-1")
    with WebStub() as web:
        url = web.route("/fr", Page(page, content_type="text/html; charset=ISO-8859-1"))
        [row] = read_source(url, limits=FAST)
        assert row.fields["question"] == "Où est mon carnet ?"
        wrong = web.route("/wrong", Page(page, content_type="text/html; charset=utf-8"))
        with pytest.raises(FAQSourceError, match=r"/wrong:1: not valid utf-8 text, the charset the server declares"):
            read_source(wrong, limits=FAST)


def test_markdown_and_json_are_read_by_their_content_type() -> None:
    with WebStub() as web:
        md = web.route("/faq.md", Page(b"## Is it free?\n\nYes.\n", content_type="text/plain; charset=utf-8"))
        js = web.route("/export", Page(b'{"type": "list", "data": [{"id": "1", "type": "article", "title": "T?", '
                                       b'"body": "<p>B</p>", "state": "published"}]}',
                                       content_type="application/json"))
        assert read_source(md, limits=FAST)[0].fields["url"] == f"{md}#is-it-free"
        assert read_source(js, limits=FAST)[0].fields["id"] == "intercom-1"


def test_urls_in_messages_lose_their_credentials() -> None:
    assert display_url("https://bob:hunter2@help.quillpad.example/x?page=2&api_token=s3cret&access_key=k") == (
        "https://help.quillpad.example/x?page=2&api_token=***&access_key=***")
