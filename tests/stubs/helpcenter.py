"""Local stand-ins for the help-center APIs faq-bot reads articles from, in their documented shapes.

Zendesk Guide: ``GET /api/v2/help_center/{locale}/articles.json`` with offset
pagination (``page``, ``per_page`` capped at 100, an absolute ``next_page`` URL
or ``null``) or cursor pagination (``page[size]``, ``page[after]``; ``meta.has_more``
and ``links.next``), sections sideloaded with ``include=sections``. It
authenticates like Zendesk: basic ``{email}/token:{api token}`` or a bearer OAuth
token; a wrong one answers 401 ``{"error": "Couldn't authenticate you"}``.
Anonymous requests see published articles only; agents see drafts too.

Intercom: ``GET /articles?page=&per_page=`` (default 25) answering
``{"type": "list", "pages": {"type": "pages", "page", "per_page", "total_pages",
"next"}, "total_count", "data": [...]}``; a bearer token is required (401
``{"type": "error.list", "errors": [...]}``) and drafts are listed with
``"state": "draft"``.

Tests make a number of articles with :func:`zendesk_article` /
:func:`intercom_article`, script failures with :meth:`HelpCenterStub.fail`
(a 429 with ``Retry-After``, a 500 …) and read :attr:`HelpCenterStub.requests`.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tests.stubs.loopback import LoopbackHTTPService, StubRequestHandler

ZENDESK_EMAIL = "agent@quillpad.example"
ZENDESK_TOKEN = "zd_api_token_0123456789abcdef"
ZENDESK_OAUTH = "zd_oauth_0123456789abcdef"
INTERCOM_TOKEN = "ic_token_0123456789abcdef=="
ZENDESK_PREFIX = "/api/v2/help_center/"


def zendesk_article(number: int, *, draft: bool = False, locale: str = "en-us") -> dict[str, Any]:
    """An article in Zendesk's JSON shape, numbered ``number``."""
    article_id = 4_500_000_000 + number
    return {"id": article_id, "url": f"https://quillpad.zendesk.com/api/v2/help_center/{locale}/articles/"
            f"{article_id}.json", "html_url": f"https://quillpad.zendesk.com/hc/{locale}/articles/{article_id}",
            "draft": draft, "section_id": 3_600_000_000 + number % 3, "title": f"How do I use feature {number}?",
            "locale": locale, "label_names": [f"label-{number % 5}"],
            "body": f"<p>Open <strong>feature {number}</strong> from the menu.</p><ul><li>Step one.</li></ul>"}


def intercom_article(number: int, *, state: str = "published") -> dict[str, Any]:
    """An article in Intercom's JSON shape, numbered ``number``."""
    article_id = str(7_000_000 + number)
    return {"id": article_id, "type": "article", "workspace_id": "qp4x9d2k", "title": f"What is feature {number}?",
            "description": "", "body": f"<p>Feature {number} does <em>one thing</em> well.</p>", "state": state,
            "url": None if state != "published" else f"https://intercom.help/quillpad/en/articles/{article_id}",
            "author_id": 7_100_001, "created_at": 1706778000, "updated_at": 1715703600}


@dataclass
class Failure:
    """A scripted failure for the next ``times`` requests to a path prefix."""

    status: int
    headers: dict[str, str]
    times: int


@dataclass
class Seen:
    """One request received: path, query parameters, lower-case headers."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class HelpCenterStub(LoopbackHTTPService):
    """The Zendesk Guide and Intercom article APIs on 127.0.0.1:<free port>."""

    zendesk: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # locale -> articles
    sections: list[dict[str, Any]] = field(default_factory=list)
    intercom: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Seen] = field(default_factory=list)
    failures: dict[str, Failure] = field(default_factory=dict)
    # A next_page pointing elsewhere, for the test that a token never follows it there.
    zendesk_next_override: str | None = None

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        stub = self

        class Handler(StubRequestHandler):
            def do_GET(self) -> None:
                url, _, headers = self.read_request()
                status, body, extra = stub.answer(url.path, dict(parse_qsl(url.query)), headers)
                self.send_answer(status, json.dumps(body).encode(), "application/json; charset=utf-8", extra)

        super().__init__(Handler)

    def zendesk_url(self, locale: str = "en-us", query: str = "") -> str:
        """The articles URL of a locale, as a user would give it."""
        return f"{self.origin}{ZENDESK_PREFIX}{locale}/articles.json" + (f"?{query}" if query else "")

    def intercom_url(self) -> str:
        """The Intercom articles URL."""
        return f"{self.origin}/articles"

    def fail(self, prefix: str, status: int, *, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """Answer the next ``times`` requests whose path starts with ``prefix`` with ``status``."""
        self.failures[prefix] = Failure(status, headers or {}, times)

    def answer(self, path: str, query: dict[str, str], headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        """(status, JSON body, headers) for one GET."""
        with self.lock:
            self.requests.append(Seen(path, query, headers))
            for prefix, failure in self.failures.items():
                if path.startswith(prefix) and failure.times > 0:
                    failure.times -= 1
                    return failure.status, {"error": f"scripted {failure.status}"}, failure.headers
        if path.startswith(ZENDESK_PREFIX) and path.endswith("/articles.json"):
            return self._zendesk(path, query, headers)
        if path == "/articles":
            return self._intercom(query, headers)
        return 404, {"error": "InvalidEndpoint"}, {}

    def _zendesk(self, path: str, query: dict[str, str], headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        auth = headers.get("authorization")
        agent = auth in (f"Bearer {ZENDESK_OAUTH}", "Basic " + base64.b64encode(
            f"{ZENDESK_EMAIL}/token:{ZENDESK_TOKEN}".encode()).decode())
        if auth and not agent:
            return 401, {"error": "Couldn't authenticate you"}, {}
        locale = path[len(ZENDESK_PREFIX):].split("/")[0]
        articles = [a for a in self.zendesk.get(locale, []) if agent or not a["draft"]]
        base = f"{self.origin}{path}"
        if "page[size]" in query:
            size = min(int(query["page[size]"]), 100)
            start = int(query.get("page[after]", "0"))
            chunk = articles[start:start + size]
            more = start + size < len(articles)
            after = {"page[size]": str(size), "page[after]": str(start + size)}
            body: dict[str, Any] = {"articles": chunk, "meta": {"has_more": more, "after_cursor": str(start + size)},
                                    "links": {"next": f"{base}?{urlencode(after)}" if more else None}}
        else:
            size = min(int(query.get("per_page", "30")), 100)
            page = int(query.get("page", "1"))
            chunk = articles[(page - 1) * size:page * size]
            count = len(articles)
            following = {k: v for k, v in query.items()} | {"page": str(page + 1), "per_page": str(size)}
            body = {"articles": chunk, "page": page, "per_page": size, "page_count": -(-count // size), "count": count,
                    "next_page": f"{base}?{urlencode(following)}" if page * size < count else None,
                    "previous_page": None, "sort_by": "position", "sort_order": "asc"}
            if self.zendesk_next_override and body["next_page"]:
                body["next_page"] = self.zendesk_next_override
        if query.get("include") == "sections":
            body["sections"] = self.sections
        return 200, body, {}

    def _intercom(self, query: dict[str, str], headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if headers.get("authorization") != f"Bearer {INTERCOM_TOKEN}":
            return 401, {"type": "error.list", "request_id": "r1",
                         "errors": [{"code": "unauthorized", "message": "Access Token Invalid"}]}, {}
        size = min(int(query.get("per_page", "25")), 250)
        page = int(query.get("page", "1"))
        total = -(-len(self.intercom) // size)
        pages: dict[str, Any] = {"type": "pages", "page": page, "per_page": size, "total_pages": total}
        if page < total:
            pages["next"] = f"{self.origin}/articles?{urlencode({'page': page + 1, 'per_page': size})}"
        return 200, {"type": "list", "pages": pages, "total_count": len(self.intercom),
                     "data": self.intercom[(page - 1) * size:page * size]}, {}

