"""FAQs from help-center articles: Zendesk Guide and Intercom Articles, in their
public API's JSON shape, from an export file or fetched page by page from the API.

Zendesk Guide (``GET /api/v2/help_center[/{locale}]/articles.json``):
``{"articles": [{"id", "title", "body" (HTML), "html_url", "label_names",
"section_id", "draft", "locale", …}], "sections": [{"id", "name"}] (when
sideloaded with ``include=sections``), "next_page"}``, or cursor pagination's
``"meta": {"has_more"}, "links": {"next"}``. Intercom (``GET /articles``):
``{"type": "list", "data": [{"id", "title", "body" (HTML), "url", "state",
"tags"?, …}], "pages": {"next", "page", "total_pages"}}``.

A file may hold one such page, a list of pages, or a bare list of articles.
Each article becomes an FAQ: title → question, body → answer (clean text),
``html_url``/``url`` → url, labels and the section's name (Zendesk) or tags
(Intercom) → tags, and the id ``zendesk-{id}`` / ``intercom-{id}``, which no
edit of the article changes. Drafts (``"draft": true``) and unpublished
articles (``"state"`` other than ``"published"``) are skipped. One source holds
one locale: an article present twice in different locales is refused.

Fetching (:func:`fetch_articles`) follows the API's own next-page links, only
on the first URL's origin (the token must not travel elsewhere) and never the
same page twice, within :class:`Limits` (pages, bytes for all pages together).
Tokens come from settings (:class:`HelpCenterAuth`) and are sent only to the
API URL named (never over plain ``http://`` to another machine).
"""

from __future__ import annotations

import base64
import ipaddress
import json
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests

from faq_core.errors import FAQSourceError
from faq_core.sources.charset import decode
from faq_core.sources.credentials import HelpCenterAuth
from faq_core.sources.fetch import display_url, fetch, origin
from faq_core.sources.limits import DEFAULT_LIMITS, Limits
from faq_core.sources.rows import SourceRow, one_line
from faq_core.sources.text import fragment_text

Kind = Literal["zendesk", "intercom"]
JSON_TYPES = ("application/json",)
INTERCOM_VERSION = "2.11"
SHAPES = ('a Zendesk Guide export ({"articles": [...]}) or an Intercom Articles export '
          '({"type": "list", "data": [...]})')


def api_kind(url: str) -> Kind | None:
    """Which help-center API ``url`` is: ``zendesk`` for ``/api/v2/help_center/…/articles.json``,
    ``intercom`` for ``/articles`` (api.intercom.io, its EU and AU hosts, or a proxy in front of them)."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if path.startswith("/api/v2/help_center/") and path.endswith("/articles.json"):
        return "zendesk"
    if path == "/articles":
        return "intercom"
    return None


def read_articles_json(data: bytes, location: str, *, charset: str | None = None) -> list[SourceRow]:
    """The FAQs of a Zendesk Guide or Intercom Articles export file (either shape, told apart by content)."""
    document = load_json(data, location, charset)
    kind = _kind_of(document)
    if kind is None:
        raise FAQSourceError(location, None, f"no FAQs found: expected {SHAPES}")
    key = "articles" if kind == "zendesk" else "data"
    if isinstance(document, list):
        pages = document if all(_is_page(page, kind) for page in document) else [{key: document}]
    elif _is_page(document, kind):
        pages = [document]
    else:  # one article: Zendesk's {"article": {...}}, or the article itself
        pages = [{key: [document.get("article", document)]}]
    return articles_rows(kind, pages, location)


def fetch_articles(url: str, kind: Kind, *, auth: HelpCenterAuth, limits: Limits = DEFAULT_LIMITS,
                   session: requests.Session | None = None) -> list[SourceRow]:
    """Every published article of a help-center API, page by page from ``url``."""
    headers = _auth_headers(kind, auth, url)
    home = origin(url)
    next_url: str | None = _first_url(kind, url)
    seen: set[str] = set()
    budget = [limits.max_bytes]
    pages: list[Any] = []
    while next_url:
        if len(pages) >= limits.max_pages:
            raise FAQSourceError(display_url(url), None, f"more than {limits.max_pages} pages of articles: not read")
        seen.add(next_url)
        fetched = fetch(next_url, accept=JSON_TYPES, limits=limits, headers=headers, session=session, budget=budget)
        page = load_json(fetched.data, display_url(next_url), fetched.charset)
        if not _is_page(page, kind):
            raise FAQSourceError(display_url(next_url), None,
                                 f"not a {'Zendesk Guide' if kind == 'zendesk' else 'Intercom'} list of articles")
        pages.append(page)
        next_url = _next_url(kind, page, next_url)
        if next_url and origin(next_url) != home:
            raise FAQSourceError(display_url(url), None, f"the next page is at {display_url(next_url)}, "
                                 "another origin: not followed (the token would be sent there)")
        if next_url in seen:
            raise FAQSourceError(display_url(url), None, "the API's next page is one already read: stopped")
    return articles_rows(kind, pages, url)


def load_json(data: bytes, location: str, charset: str | None = None) -> Any:
    """A JSON document, refused with the line and reason when malformed or absurdly nested."""
    text = decode(data, location, declared=charset)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise FAQSourceError(location, error.lineno, f"invalid JSON: {error.msg}") from None
    except RecursionError:
        raise FAQSourceError(location, None, "invalid JSON: nested too deeply") from None


def articles_rows(kind: Kind, pages: list[Any], location: str) -> list[SourceRow]:
    """The FAQs of every published article on ``pages`` (already one kind's list pages)."""
    sections = {}
    for page in pages:
        listed = page.get("sections")
        for section in listed if isinstance(listed, list) else ():
            if isinstance(section, dict) and isinstance(section.get("name"), str):
                sections[section.get("id")] = section["name"].strip()
    rows: dict[str, tuple[SourceRow, str | None]] = {}
    number = 0
    for page in pages:
        for article in page["articles" if kind == "zendesk" else "data"]:
            number += 1
            made = _article_row(kind, article, number, location, sections)
            if made is None:
                continue
            row, locale = made
            first = rows.get(row.fields["id"])
            if first is not None and first[1] != locale:
                raise FAQSourceError(location, None, f"{row.where} is also in locale {first[1]}: read one locale "
                                     "per source (e.g. /api/v2/help_center/en-us/articles.json)")
            rows.setdefault(row.fields["id"], (row, locale))  # a page that shifted while paginating repeats one
    if not rows:
        raise FAQSourceError(location, None, f"no published articles among {number} (drafts are skipped)")
    return [row for row, _ in rows.values()]


def _article_row(kind: Kind, article: Any, number: int, location: str,
                 sections: Mapping[Any, str]) -> tuple[SourceRow, str | None] | None:
    if not isinstance(article, dict):
        raise FAQSourceError(location, None, f"article {number} is not a JSON object")
    raw_id = article.get("id")
    if isinstance(raw_id, bool) or not (isinstance(raw_id, int) or (isinstance(raw_id, str) and raw_id.isdigit())):
        raise FAQSourceError(location, None, f"article {number} has no numeric id")
    where = f"article {number} (id {raw_id})"
    if kind == "zendesk" and article.get("draft") is True:
        return None
    if kind == "intercom" and article.get("state", "published") != "published":
        return None
    title = article.get("title")
    if not isinstance(title, str) or not title.strip():
        raise FAQSourceError(location, None, f"{where} has no title")
    link = article.get("html_url" if kind == "zendesk" else "url")
    link = link.strip() if isinstance(link, str) and urlsplit(link.strip()).scheme in ("http", "https") else None
    body = article.get("body")
    if body is not None and not isinstance(body, str):
        raise FAQSourceError(location, None, f"{where}: body must be HTML text")
    answer = fragment_text(body, location, base_url=link, where=where) if body else ""
    if not answer and kind == "intercom" and isinstance(article.get("description"), str):
        answer = one_line(article["description"])
    tags = _tags(kind, article, sections, location, where)
    fields = {"id": f"{kind}-{raw_id}", "question": one_line(title), "answer": answer or None, "url": link,
              "tags": tags}
    row = SourceRow(fields=fields, source=f"{location}#article-{raw_id}", location=location, where=where)
    locale = article.get("locale") if isinstance(article.get("locale"), str) else None
    return row, locale


def _tags(kind: Kind, article: dict[str, Any], sections: Mapping[Any, str], location: str, where: str) -> list[str]:
    if kind == "zendesk":
        labels = article.get("label_names") or []
        if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
            raise FAQSourceError(location, None, f"{where}: label_names must be a list of text")
        section = sections.get(article.get("section_id"))
        return [*labels, *([section] if section else [])]
    tags = article.get("tags")
    if isinstance(tags, dict):  # {"type": "tag.list", "tags": [{"type": "tag", "name": ...}]}
        tags = tags.get("tags")
    if not isinstance(tags, list):
        return []
    names = [tag.get("name") if isinstance(tag, dict) else tag for tag in tags]
    return [name.strip() for name in names if isinstance(name, str) and name.strip()]


def _kind_of(document: Any) -> Kind | None:
    first = document[0] if isinstance(document, list) and document else document
    if not isinstance(first, dict):
        return None
    if isinstance(first.get("article"), dict):
        first = first["article"]
    if _is_page(first, "zendesk") or ("html_url" in first and "title" in first):
        return "zendesk"
    if _is_page(first, "intercom") or first.get("type") == "article":
        return "intercom"
    return None


def _is_page(value: Any, kind: Kind) -> bool:
    if kind == "zendesk":
        return isinstance(value, dict) and isinstance(value.get("articles"), list)
    return isinstance(value, dict) and isinstance(value.get("data"), list) and value.get("type", "list") == "list"


def _first_url(kind: Kind, url: str) -> str:
    """Zendesk's first page asks for 100 articles a page and the sections' names, unless the URL says otherwise."""
    if kind != "zendesk":
        return url
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    names = {name for name, _ in query}
    query += [("per_page", "100")] * ("per_page" not in names and "page[size]" not in names)
    query += [("include", "sections")] * ("include" not in names)
    return urlunsplit(parts._replace(query=urlencode(query, safe="[],")))


def _next_url(kind: Kind, page: dict[str, Any], current: str) -> str | None:
    if kind == "zendesk":
        link = page.get("next_page")
        if not link and isinstance(page.get("meta"), dict) and page["meta"].get("has_more"):
            link = (page.get("links") or {}).get("next") if isinstance(page.get("links"), dict) else None
        return urljoin(current, link) if isinstance(link, str) and link else None
    pages = page.get("pages")
    if not isinstance(pages, dict):
        return None
    following = pages.get("next")
    if isinstance(following, str) and following:
        return urljoin(current, following)
    parts = urlsplit(current)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if isinstance(following, dict) and isinstance(following.get("starting_after"), str):
        query["starting_after"] = following["starting_after"]
    elif isinstance(pages.get("page"), int) and isinstance(pages.get("total_pages"), int) \
            and pages["page"] < pages["total_pages"]:
        query["page"] = str(pages["page"] + 1)
    else:
        return None
    return urlunsplit(parts._replace(query=urlencode(query)))


def _auth_headers(kind: Kind, auth: HelpCenterAuth, url: str) -> dict[str, str]:
    if kind == "zendesk":
        if not auth.zendesk_token:
            return {}
        if auth.zendesk_email:
            pair = f"{auth.zendesk_email}/token:{auth.zendesk_token}".encode()
            headers = {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        else:
            headers = {"Authorization": f"Bearer {auth.zendesk_token}"}
        setting = "ZENDESK_API_TOKEN"
    else:
        if not auth.intercom_token:
            raise FAQSourceError(display_url(url), None, "INTERCOM_TOKEN is not set: Intercom's API needs an "
                                 "access token with read access to articles")
        headers = {"Authorization": f"Bearer {auth.intercom_token}", "Intercom-Version": INTERCOM_VERSION}
        setting = "INTERCOM_TOKEN"
    if urlsplit(url).scheme != "https" and not _loopback(url):
        raise FAQSourceError(display_url(url), None,
                             f"{setting} would travel unencrypted to another machine: use an https:// URL")
    return headers


def _loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
