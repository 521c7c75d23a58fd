"""HTML to clean answer text: the one conversion every HTML-bearing reader uses.

The text keeps what a reader of the answer needs and nothing of the markup:

- paragraphs, headings, list items, table rows and ``<br>`` each start a new
  line (no blank lines between them); list items get ``- `` (or ``1. `` in an
  ordered list), table cells are joined by `` | ``;
- a link keeps its text followed by its target, ``the VPN page (https://…/vpn)``,
  resolved against the page's URL; the target alone when the text already is
  it; ``javascript:`` and ``data:`` targets are dropped;
- ``<script>``, ``<style>``, ``<template>``, ``<head>``, forms' controls, SVG
  and the like are dropped whole; entities are decoded by the parser;
- whitespace is made single spaces, except inside ``<pre>``, whose lines and
  indentation are kept.

The walk is iterative, so a tree of any depth converts in linear time.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin, urlsplit

from faq_core.sources.dom import BLOCKED, parse_fragment, tag_of

_BLOCK = frozenset({
    "address", "article", "aside", "blockquote", "caption", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
    "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "tfoot", "thead", "tr", "ul",
})
_PRE_SPACE, _PRE_NEWLINE = "\ue000", "\ue001"  # private-use marks for <pre>'s own spaces and line breaks
_STRIP_MARKS = str.maketrans("", "", _PRE_SPACE + _PRE_NEWLINE)
_WHITESPACE = re.compile(r"\s+")
_SPACES = re.compile(r"[ \t\f\v\r]+")
_TAG_LIKE = re.compile(r"<[A-Za-z!/]")
_DROPPED_SCHEMES = ("javascript:", "data:", "vbscript:")
_ENTER, _EXIT = 0, 1


def html_to_text(root: Any, *, base_url: str | None = None, links: bool = True, skip: Iterable[Any] = ()) -> str:
    """The clean text of element ``root`` (not its tail), leaving out the
    elements in ``skip`` (a ``<details>``'s ``<summary>``, say)."""
    writer = _Writer(base_url, links, set(skip))
    writer.walk(root, with_tail=False)
    return writer.result()


def section_text(lead: str | None, nodes: Iterable[Any], *, base_url: str | None = None) -> str:
    """The clean text of a run of sibling elements with the text between
    them: ``lead`` (the text right after a heading), then each node and its tail."""
    writer = _Writer(base_url, True, set())
    if lead:
        writer.inline(lead)
    for node in nodes:
        writer.walk(node, with_tail=True)
    return writer.result()


def fragment_text(text: str, location: str, *, base_url: str | None = None, line: int | None = None,
                  where: str | None = None) -> str:
    """Clean text of an answer that may hold HTML (an article body, a JSON-LD
    answer). Text without tags keeps its line breaks; its entities are decoded."""
    if not _TAG_LIKE.search(text):
        return plain_text(html.unescape(text))
    return html_to_text(parse_fragment(text, location, line=line, where=where), base_url=base_url)


def plain_text(text: str) -> str:
    """``text`` with runs of spaces made one, each line trimmed, blank lines dropped."""
    lines = (_SPACES.sub(" ", line.replace("\xa0", " ")).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


class _Writer:
    """Accumulates the text of one answer while walking elements depth-first."""

    def __init__(self, base_url: str | None, links: bool, skip: set[Any]) -> None:
        self.base_url = base_url
        self.links = links
        self.skip = skip
        self.parts: list[str] = []
        self.pre = 0
        self.counters: dict[Any, int] = {}

    def inline(self, text: str) -> None:
        text = text.translate(_STRIP_MARKS)
        if self.pre:
            self.parts.append(text.replace("\r\n", "\n").replace(" ", _PRE_SPACE).replace("\t", _PRE_SPACE * 4)
                              .replace("\n", _PRE_NEWLINE))
        else:
            self.parts.append(_WHITESPACE.sub(" ", text))

    def walk(self, root: Any, *, with_tail: bool) -> None:
        stack: list[tuple[Any, int, int]] = [(root, _ENTER, 0)]
        while stack:
            node, state, start = stack.pop()
            tail = node.tail if (with_tail or node is not root) else None
            tag = tag_of(node)
            if state == _EXIT:
                self._close(node, tag, start)
            elif tag is not None and tag not in BLOCKED and node not in self.skip:
                self._open(node, tag)
                if tag != "br":
                    stack.append((node, _EXIT, len(self.parts)))
                    if node.text:
                        self.inline(node.text)
                    stack.extend((child, _ENTER, 0) for child in reversed(node))
                    continue
            if tail:
                self.inline(tail)

    def _open(self, node: Any, tag: str) -> None:
        if tag == "br":
            self.parts.append("\n")
            return
        if tag in _BLOCK:
            self.parts.append("\n")
        if tag == "pre":
            self.pre += 1
        elif tag == "li":
            self.parts.append(self._bullet(node))
        elif tag in ("td", "th") and tag_of(node.getprevious()) in ("td", "th"):
            self.parts.append(" | ")

    def _close(self, node: Any, tag: str | None, start: int) -> None:
        if tag == "pre":
            self.pre -= 1
        elif tag == "a" and self.links:
            target = self._target(node.get("href"))
            if target:
                shown = " ".join("".join(self.parts[start:]).split())
                bare = target.split(":", 1)[1] if target.lower().startswith(("mailto:", "tel:")) else target
                if shown.rstrip("/") not in (target.rstrip("/"), bare.rstrip("/")):
                    self.parts.append(f" ({target})" if shown else target)
        if tag in _BLOCK:
            self.parts.append("\n")

    def _bullet(self, node: Any) -> str:
        parent = node.getparent()
        if tag_of(parent) != "ol":
            return "- "
        if parent not in self.counters:
            start = (parent.get("start") or "").strip()
            self.counters[parent] = int(start) - 1 if start.isdigit() and len(start) < 9 else 0
        self.counters[parent] += 1
        return f"{self.counters[parent]}. "

    def _target(self, href: str | None) -> str | None:
        href = (href or "").strip()
        if not href or href.lower().startswith(_DROPPED_SCHEMES):
            return None
        try:
            target = urljoin(self.base_url, href) if self.base_url else href
        except ValueError:
            return None
        # Without the page's URL a relative link leads nowhere for the reader: its text stays, alone.
        return target if urlsplit(target).scheme else None

    def result(self) -> str:
        # A <pre>'s own line breaks at the ends of its text are the block's edges, not blank lines.
        lines = (_SPACES.sub(" ", line).strip().strip(_PRE_NEWLINE) for line in "".join(self.parts).split("\n"))
        text = "\n".join(line for line in lines if line)
        return text.replace(_PRE_SPACE, " ").replace(_PRE_NEWLINE, "\n")
