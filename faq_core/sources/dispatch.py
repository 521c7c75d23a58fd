"""Which reader a source needs, by its file type, its content type, or its content.

:func:`read_source` takes a file path or an ``http(s)://`` URL and returns its
FAQs as :class:`SourceRow`\\ s; :func:`load_source` returns :class:`FAQ` rows,
reading CSV and JSONL files exactly as :func:`faq_core.faqs.load_faqs` always
has (no parser library is imported for them).

Files: ``.html``/``.htm``/``.xhtml`` → HTML page, ``.md``/``.markdown`` →
Markdown, ``.json`` → help-center export, ``.xlsx`` → workbook; any other name
is told by its first bytes (a zip, JSON, HTML, Markdown headings). URLs: a
Zendesk Guide or Intercom articles API URL is fetched page by page with its
token; any other URL once, and read by its ``Content-Type``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from faq_core.errors import FAQSourceError
from faq_core.faqs import FAQ, load_faqs
from faq_core.sources.credentials import HelpCenterAuth
from faq_core.sources.limits import DEFAULT_LIMITS, Limits
from faq_core.sources.rows import SourceRow, to_faqs

if TYPE_CHECKING:
    import requests

Reader = Literal["html", "markdown", "articles", "xlsx"]
FAQ_FILES = (".csv", ".jsonl", ".ndjson")
_BY_SUFFIX: dict[str, Reader] = {".html": "html", ".htm": "html", ".xhtml": "html", ".md": "markdown",
                                 ".markdown": "markdown", ".json": "articles", ".xlsx": "xlsx"}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_BY_MEDIA_TYPE: dict[str, Reader] = {"text/html": "html", "application/xhtml+xml": "html",
                                     "application/json": "articles", "text/markdown": "markdown",
                                     "text/x-markdown": "markdown", XLSX_TYPE: "xlsx"}
URL_TYPES = (*_BY_MEDIA_TYPE, "text/plain")
_MARKDOWN_HEADING = re.compile(rb"^ {0,3}#{1,6}[ \t]+\S", re.MULTILINE)
_HTML_START = re.compile(rb"<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE)
KINDS_TEXT = ".html, .md, .json (Zendesk or Intercom), .xlsx, .csv or .jsonl"


def read_source(location: str | Path, *, sheet: str | None = None, page_url: str | None = None,
                auth: HelpCenterAuth | None = None, limits: Limits = DEFAULT_LIMITS,
                session: requests.Session | None = None) -> list[SourceRow]:
    """The FAQs of one source (not CSV or JSONL: see :func:`load_source`).

    ``sheet`` names a workbook's sheet (default: the first); ``page_url`` is a
    saved page's or Markdown file's URL, for each FAQ's link; ``auth`` holds the
    help-center tokens; ``session`` (tests, or a caller reading several URLs)
    is used for every request. Raises :class:`FAQSourceError` (and its
    :class:`~faq_core.errors.SourceFetchError` when a server or the network failed)."""
    if isinstance(location, str) and is_url(location):
        return _read_url(location, sheet=sheet, page_url=page_url, auth=auth or HelpCenterAuth(), limits=limits,
                         session=session)
    from faq_core.sources.fetch import read_local

    path = Path(location)
    suffix = path.suffix.lower()
    if suffix in FAQ_FILES:
        raise FAQSourceError(path, None, "a CSV or JSONL FAQ file: read it with load_source or load_faqs")
    if suffix == ".xls":
        raise FAQSourceError(path, None, "an old Excel .xls workbook: save it as .xlsx")
    data = read_local(path, limits)
    reader = _BY_SUFFIX.get(suffix) or _sniff(data)
    if reader is None:
        raise FAQSourceError(path, None, f"cannot tell what kind of FAQ source this is: name it {KINDS_TEXT}")
    return _read(reader, data, str(path), charset=None, sheet=sheet, page_url=page_url, fetched_url=None,
                 limits=limits)


def load_source(location: str | Path, *, sheet: str | None = None, page_url: str | None = None,
                auth: HelpCenterAuth | None = None, limits: Limits = DEFAULT_LIMITS,
                session: requests.Session | None = None) -> list[FAQ]:
    """The :class:`FAQ` rows of one source of any supported kind. A CSV or
    JSONL file is read by :func:`load_faqs`, unchanged; every other kind through
    :func:`read_source` and :func:`to_faqs`, each FAQ carrying its ``source``
    in its metadata."""
    if not (isinstance(location, str) and is_url(location)) and Path(location).suffix.lower() in FAQ_FILES:
        if sheet is not None:
            raise FAQSourceError(location, None, "a sheet was named, but this is not an .xlsx workbook")
        return load_faqs(location)
    return to_faqs(read_source(location, sheet=sheet, page_url=page_url, auth=auth, limits=limits, session=session))


def is_url(location: str) -> bool:
    """Whether ``location`` is written as a URL (``scheme://…``) rather than a file path."""
    scheme, sep, _ = location.partition("://")
    return bool(sep) and len(scheme) > 1 and scheme.replace("+", "").replace("-", "").replace(".", "").isalnum()


def _read_url(url: str, *, sheet: str | None, page_url: str | None, auth: HelpCenterAuth, limits: Limits,
              session: requests.Session | None) -> list[SourceRow]:
    from faq_core.sources.fetch import check_http_url, display_url, fetch
    from faq_core.sources.helpcenter import api_kind, fetch_articles

    check_http_url(url)
    kind = api_kind(url)
    if kind is not None:
        _no_sheet(sheet, display_url(url), "articles")
        return fetch_articles(url, kind, auth=auth, limits=limits, session=session)
    fetched = fetch(url, accept=URL_TYPES, limits=limits, session=session)
    reader = _BY_MEDIA_TYPE.get(fetched.media_type)
    if reader is None:  # text/plain: a raw Markdown file, or a page served as text
        reader = _BY_SUFFIX.get(Path(fetched.url.split("?", 1)[0]).suffix.lower()) or _sniff(fetched.data)
    if reader is None or (reader == "xlsx" and fetched.media_type != XLSX_TYPE):
        raise FAQSourceError(display_url(url), None, f"serves {fetched.media_type} that is not one of {KINDS_TEXT}")
    return _read(reader, fetched.data, url, charset=fetched.charset, sheet=sheet, page_url=page_url,
                 fetched_url=fetched.url, limits=limits)


def _read(reader: Reader, data: bytes, location: str, *, charset: str | None, sheet: str | None,
          page_url: str | None, fetched_url: str | None, limits: Limits) -> list[SourceRow]:
    _no_sheet(sheet, location, reader)
    if reader == "html":
        from faq_core.sources.html import read_html

        return read_html(data, location, charset=charset, page_url=page_url, fetched_url=fetched_url)
    if reader == "markdown":
        from faq_core.sources.markdown import read_markdown

        return read_markdown(data, location, charset=charset, page_url=page_url or fetched_url)
    if reader == "articles":
        from faq_core.sources.helpcenter import read_articles_json

        return read_articles_json(data, location, charset=charset)
    from faq_core.sources.xlsx import read_xlsx

    return read_xlsx(data, location, sheet=sheet, limits=limits)


def _no_sheet(sheet: str | None, location: str, reader: str) -> None:
    if sheet is not None and reader != "xlsx":
        raise FAQSourceError(location, None, "a sheet was named, but this is not an .xlsx workbook")


def _sniff(data: bytes) -> Reader | None:
    """The reader the first bytes call for: a zip is a workbook, ``{``/``[`` JSON,
    an HTML start tag a page, a ``#`` heading line Markdown."""
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    head = data[:65536].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] in (b"{", b"["):
        return "articles"
    if _HTML_START.search(head[:4096]):
        return "html"
    if _MARKDOWN_HEADING.search(head):
        return "markdown"
    return None
