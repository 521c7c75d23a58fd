"""FAQs from an HTML page: a saved file or the bytes of a fetched URL.

The page is read in this order, and the first shape that yields FAQs wins:

1. schema.org ``FAQPage`` in JSON-LD (``<script type="application/ld+json">``:
   a single object, a list of objects, an ``@graph``, or nested in another
   object such as a ``WebPage``; ``{"@id": …}`` references are followed);
2. schema.org ``FAQPage`` in microdata (``itemtype=".../FAQPage"``,
   ``itemprop="mainEntity"`` ``Question``s with ``name`` and ``acceptedAnswer``/``text``);
3. otherwise whichever of these holds the most questions (text ending in
   ``?``), all outside ``<nav>``, ``<header>``, ``<footer>`` and ``<aside>``:
   ``<details><summary>``, ``<dl><dt><dd>`` (further ``<dt>``\\ s of one ``<dd>``
   become alternates), and question headings (``<h1>``…``<h6>`` ending in ``?``) with their
   section: what follows the heading up to the next heading of the same or a
   higher rank. Items without an answer are not FAQs here.

Each FAQ's ``url`` is the page's URL (``page_url``, else its canonical link,
else the URL it was fetched from) with the FAQ's nearest anchor (the ``id`` of
its element, of an anchor in or just before it, or of an enclosing element).
Its id is its own anchor, unless the anchor is numbered by position or shared,
else a slug and hash of the question (:func:`faq_core.sources.rows.row_id`).
Answers are clean text (:mod:`faq_core.sources.text`). Nothing on the page is
fetched or run.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urldefrag, urljoin, urlsplit

from faq_core.errors import FAQSourceError
from faq_core.sources.charset import decode
from faq_core.sources.dom import parse_document, tag_of
from faq_core.sources.rows import SourceRow, looks_like_question, one_line, row_id, unique_rows
from faq_core.sources.text import fragment_text, html_to_text, section_text

SHAPES = ("schema.org FAQPage (JSON-LD or microdata)", "<details><summary>", "<dl><dt><dd>",
          "headings ending in '?' followed by their answer")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_OUTSIDE_CONTENT = frozenset({"nav", "header", "footer", "aside"})
_FRAGMENT_SAFE = "-._~!$&'()*+,;=:@/?"


@dataclass
class _Found:
    """An FAQ found on the page, before its id is settled (anchors shared by two FAQs make none)."""

    question: str
    answer: str | None
    line: int | None
    own_anchor: str | None = None
    near_anchor: str | None = None
    url: str | None = None
    alternates: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Page:
    location: str
    url: str | None
    root: Any


def read_html(data: bytes, location: str, *, charset: str | None = None, page_url: str | None = None,
              fetched_url: str | None = None) -> list[SourceRow]:
    """The FAQs of an HTML page. ``charset`` is the one the server declared;
    ``page_url`` overrides the page's URL (for a saved file without a canonical
    link); ``fetched_url`` is where a fetched page came from. Raises
    :class:`FAQSourceError` naming what was wrong, or the shapes looked for."""
    text = decode(data, location, declared=charset, html=True)
    root = parse_document(text, location)
    page = _Page(location, _page_url(root, page_url, fetched_url), root)
    broken: list[str] = []
    declared = _json_ld(page, broken) or _microdata(page)
    if declared:
        return _rows(page, declared)
    candidates = [_details(page), _definition_lists(page), _headings(page)]
    best = max(candidates, key=lambda items: (sum(looks_like_question(item.question) for item in items), len(items)))
    if best:
        return _rows(page, best)
    note = f" ({'; '.join(broken)})" if broken else ""
    raise FAQSourceError(location, None, f"no FAQs found{note}: looked for {', '.join(SHAPES)}")


def _page_url(root: Any, given: str | None, fetched: str | None) -> str | None:
    candidates = [given]
    for link in root.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split():
            candidates.append(link.get("href"))
    for meta in root.iter("meta"):
        if (meta.get("property") or "").lower() == "og:url":
            candidates.append(meta.get("content"))
    candidates.append(fetched)
    for candidate in candidates:
        url = (candidate or "").strip()
        if not url:
            continue
        if fetched:
            url = urljoin(fetched, url)
        if urlsplit(url).scheme in ("http", "https") and urlsplit(url).hostname:
            return urldefrag(url).url
    return None


def _rows(page: _Page, found: list[_Found]) -> list[SourceRow]:
    shared = {a for a, n in Counter(f.own_anchor for f in found if f.own_anchor).items() if n > 1}
    rows = []
    for item in found:
        own = item.own_anchor if item.own_anchor not in shared else None
        anchor = item.own_anchor or item.near_anchor
        url = item.url or (f"{page.url}#{quote(anchor, safe=_FRAGMENT_SAFE)}" if page.url and anchor else page.url)
        fields: dict[str, Any] = {"id": row_id(item.question, own), "question": item.question,
                                  "answer": item.answer or None, "url": url, "tags": []}
        if item.alternates:
            fields["alternates"] = item.alternates
        source = f"{page.location}#{anchor}" if anchor else page.location
        rows.append(SourceRow(fields=fields, source=source, location=page.location, line=item.line))
    return unique_rows(rows)


# --- anchors -----------------------------------------------------------------------------------------------


def _own_anchor(element: Any, *, inside: bool) -> str | None:
    """The anchor that is the element's own: its id, an empty anchor just before
    it, or (``inside``: a question's heading, summary or term) a named anchor in it."""
    own = element.get("id")
    if own and own.strip():
        return str(own.strip())
    for inner in element.iter("a") if inside else ():
        name = inner.get("id") or inner.get("name")
        if name and name.strip():
            return str(name.strip())
    before = element.getprevious()
    if tag_of(before) == "a" and not (before.text_content() or "").strip():
        name = before.get("id") or before.get("name")
        if name and name.strip():
            return str(name.strip())
    return None


def _near_anchor(element: Any) -> str | None:
    """The id of the nearest enclosing element that has one (a section of the page)."""
    parent = element.getparent()
    while parent is not None and tag_of(parent) not in ("body", "html"):
        value = parent.get("id")
        if value and value.strip():
            return str(value.strip())
        parent = parent.getparent()
    return None


def _found(question: str, answer: str | None, element: Any, label: Any = None) -> _Found:
    """An FAQ whose container is ``element`` and whose question is in ``label`` (the same, for a heading)."""
    own = _own_anchor(element, inside=label is None)
    if label is not None:
        own = own or _own_anchor(label, inside=True)
    return _Found(question=question, answer=answer, line=element.sourceline, own_anchor=own,
                  near_anchor=None if own else _near_anchor(element))


# --- schema.org FAQPage: JSON-LD -----------------------------------------------------------------------------


def _schema_type(value: Any) -> set[str]:
    """``@type`` as short names: ``"FAQPage"``, ``"schema:FAQPage"`` and the schema.org URL alike."""
    kinds = value if isinstance(value, list) else [value]
    return {str(kind).rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1] for kind in kinds if isinstance(kind, str)}


def _objects(data: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in ``data``, depth-first, without recursion."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            yield value
            stack.extend(reversed(list(value.values())))
        elif isinstance(value, list):
            stack.extend(reversed(value))


def _json_ld(page: _Page, broken: list[str]) -> list[_Found]:
    found: list[_Found] = []
    for script in page.root.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        raw = script.text or ""
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as error:
            reason = f"a JSON-LD block is not valid JSON ({error.msg}, its line {error.lineno})"
            if "faqpage" in raw.lower():
                raise FAQSourceError(page.location, script.sourceline, reason) from None
            broken.append(f"{reason} at line {script.sourceline}")
            continue
        except RecursionError:
            raise FAQSourceError(page.location, script.sourceline, "a JSON-LD block is nested too deeply") from None
        objects = list(_objects(data))
        by_id = {obj["@id"]: obj for obj in objects if isinstance(obj.get("@id"), str) and len(obj) > 1}
        for faq_page in (obj for obj in objects if "FAQPage" in _schema_type(obj.get("@type"))):
            found.extend(_ld_questions(page, faq_page, by_id, script.sourceline))
    return found


def _resolve(value: Any, by_id: dict[str, dict[str, Any]]) -> Any:
    if isinstance(value, dict) and set(value) == {"@id"}:
        return by_id.get(value["@id"], value)
    return value


def _ld_questions(page: _Page, faq_page: dict[str, Any], by_id: dict[str, dict[str, Any]],
                  line: int | None) -> list[_Found]:
    entities = faq_page.get("mainEntity") or []
    entities = entities if isinstance(entities, list) else [entities]
    found = []
    for number, entity in enumerate(entities, start=1):
        question = _resolve(entity, by_id)
        where = f"JSON-LD FAQPage question {number}"
        if not isinstance(question, dict):
            raise FAQSourceError(page.location, line, f"{where} is not an object")
        name = question.get("name")
        if not isinstance(name, str) or not name.strip():
            raise FAQSourceError(page.location, line, f"{where} has no name (its question text)")
        name = one_line(fragment_text(name, page.location, line=line, where=where))
        answers = [_resolve(a, by_id) for a in _as_list(question.get("acceptedAnswer") or
                                                        question.get("suggestedAnswer"))]
        texts: list[str] = [a["text"] for a in answers if isinstance(a, dict) and isinstance(a.get("text"), str)]
        answer = fragment_text(texts[0], page.location, base_url=page.url, line=line, where=where) if texts else None
        item = _Found(question=name, answer=answer, line=line)
        for key in ("url", "@id"):
            value = question.get(key)
            if isinstance(value, str) and value.strip():
                target = urljoin(page.url or "", value.strip())
                fragment = urldefrag(target).fragment
                if fragment:
                    item.own_anchor = fragment
                if urlsplit(target).scheme in ("http", "https"):
                    item.url = target
                break
        found.append(item)
    return found


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --- schema.org FAQPage: microdata ---------------------------------------------------------------------------


def _has(element: Any, attribute: str, token: str) -> bool:
    return token.lower() in (element.get(attribute) or "").lower().split()


def _is_type(element: Any, name: str) -> bool:
    return any(kind.rstrip("/").rsplit("/", 1)[-1].lower() == name.lower()
               for kind in (element.get("itemtype") or "").split())


def _prop(item: Any, name: str) -> Any:
    """The first element carrying ``itemprop=name`` that belongs to ``item`` (not to an item nested in it)."""
    stack = list(reversed(item))
    while stack:
        element = stack.pop()
        if tag_of(element) is None:
            continue
        if _has(element, "itemprop", name):
            return element
        if element.get("itemscope") is None:
            stack.extend(reversed(element))
    return None


def _microdata(page: _Page) -> list[_Found]:
    found: list[_Found] = []
    for faq_page in page.root.xpath("//*[@itemscope and @itemtype]"):
        if not _is_type(faq_page, "FAQPage"):
            continue
        for question in faq_page.xpath(".//*[@itemscope and @itemprop]"):
            if not _has(question, "itemprop", "mainEntity"):
                continue
            name = _prop(question, "name")
            where = f"microdata question at line {question.sourceline}"
            text = (name.get("content") or html_to_text(name, links=False)) if name is not None else ""
            if not one_line(text):
                raise FAQSourceError(page.location, question.sourceline, f"{where} has no name (its question text)")
            answer_item = _prop(question, "acceptedAnswer")
            if answer_item is None:
                answer_item = _prop(question, "suggestedAnswer")
            body = _prop(answer_item, "text") if answer_item is not None else None
            answer = None
            if body is not None:
                answer = body.get("content") or html_to_text(body, base_url=page.url)
            found.append(_found(one_line(text), answer, question, name))
    return found


# --- <details>, <dl>, question headings ----------------------------------------------------------------------


def _details(page: _Page) -> list[_Found]:
    found = []
    for details in page.root.iter("details"):
        if _outside_content(details):
            continue
        summary = next((child for child in details if tag_of(child) == "summary"), None)
        if summary is None:
            continue
        question = one_line(html_to_text(summary, links=False))
        answer = html_to_text(details, base_url=page.url, skip=[summary])
        if question and answer:
            found.append(_found(question, answer, details, summary))
    return found


def _definition_lists(page: _Page) -> list[_Found]:
    found = []
    for dl in page.root.iter("dl"):
        if _outside_content(dl):
            continue
        terms: list[Any] = []
        definitions: list[Any] = []
        for child in _dl_items(dl):
            tag = tag_of(child)
            if tag == "dt":
                if definitions:
                    found.extend(_definition(page, terms, definitions))
                    terms, definitions = [], []
                terms.append(child)
            elif tag == "dd" and terms:
                definitions.append(child)
        found.extend(_definition(page, terms, definitions))
    return found


def _dl_items(dl: Any) -> Iterator[Any]:
    """The ``<dt>`` and ``<dd>`` of a list, also when grouped in ``<div>``\\ s as HTML allows."""
    for child in dl:
        if tag_of(child) == "div":
            yield from child
        else:
            yield child


def _definition(page: _Page, terms: list[Any], definitions: list[Any]) -> list[_Found]:
    if not terms or not definitions:
        return []
    texts = [one_line(html_to_text(term, links=False)) for term in terms]
    texts = [text for text in texts if text]
    answer = section_text(None, definitions, base_url=page.url)
    if not texts or not answer:
        return []
    item = _found(texts[0], answer, terms[0])
    item.alternates = texts[1:]
    return [item]


def _headings(page: _Page) -> list[_Found]:
    found = []
    for heading in page.root.iter(*_HEADINGS):
        question = one_line(html_to_text(heading, links=False))
        if not looks_like_question(question) or _outside_content(heading):
            continue
        rank = int(tag_of(heading)[1])  # type: ignore[index]
        start = heading
        # A heading alone in a wrapper (<div class="q"><h3>…</h3></div>): its section follows the wrapper.
        while start.getnext() is None and not (start.tail or "").strip():
            parent = start.getparent()
            if parent is None or tag_of(parent) in ("body", "html") or len(parent) != 1 or (parent.text or "").strip():
                break
            start = parent
        section = []
        for sibling in start.itersiblings():
            if tag_of(sibling) is not None and _ends_section(sibling, rank):
                break
            section.append(sibling)
        answer = section_text(start.tail, section, base_url=page.url)
        if answer:
            found.append(_found(question, answer, heading))
    return found


def _ends_section(element: Any, rank: int) -> bool:
    """Whether ``element`` is, or holds, a heading that starts the next section."""
    for heading in element.iter(*_HEADINGS):
        if int(tag_of(heading)[1]) <= rank:  # type: ignore[index]
            return True
        if looks_like_question(one_line(heading.text_content())):
            return True
    return False


def _outside_content(element: Any) -> bool:
    parent = element.getparent()
    while parent is not None:
        if tag_of(parent) in _OUTSIDE_CONTENT:
            return True
        parent = parent.getparent()
    return False
