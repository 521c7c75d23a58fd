"""FAQs from a Markdown page (a wiki or docs export): a heading per question.

Parsed with markdown-it-py (CommonMark, plus tables and strikethrough), so a
``#`` line inside a fenced code block is code, not a heading, setext headings
(``Question?`` over ``---``) count, and reference-style links resolve anywhere
in the file. The rules:

- front matter (``---`` … ``---`` YAML or ``+++`` … ``+++`` TOML at the very
  top) is ignored;
- the **question level** is the heading level with the most headings ending in
  ``?``; if no heading ends in ``?``, the level with the most headings (ties go
  to the deeper level). So ``# Acme FAQ`` / ``## Accounts`` / ``### How do I…?``
  takes the ``###`` headings, and a page of ``##`` questions takes those;
- every heading at that level is a question, and its answer is everything up to
  the next heading of the same or a higher level (deeper headings stay in the
  answer), as clean text: links kept as ``text (url)``; a heading with nothing
  under it is no FAQ;
- the enclosing higher-level headings become the FAQ's tags (``Accounts``),
  except a level used once in the page (its title);
- the id is the heading's explicit anchor (``## Reset my password? {#reset}``),
  else a slug and hash of the question; the ``url``, when the page's URL is
  known, is that URL with the explicit anchor or GitHub's slug of the heading.

Lists or blockquotes nested :data:`MAX_NESTING` deep are refused: markdown-it
stops reading there, and the rest of the page would be lost without a word.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from faq_core.errors import FAQSourceError
from faq_core.sources.charset import decode
from faq_core.sources.dom import parse_fragment
from faq_core.sources.rows import SourceRow, looks_like_question, one_line, row_id, unique_rows
from faq_core.sources.text import html_to_text

SHAPE = "headings (# …) each followed by its answer"
MAX_NESTING = 20  # markdown-it's CommonMark default; real pages nest lists and quotes a few deep
_EXPLICIT_ANCHOR = re.compile(r"\s*\{#([^\s{}]{1,200})\}\s*$")
_SLUG_DROP = re.compile(r"[^\w\- ]", re.UNICODE)
_FENCES = {"---": ("---", "..."), "+++": ("+++",)}


@dataclass(frozen=True)
class _Heading:
    index: int  # of its heading_open token
    level: int
    text: str
    anchor: str | None
    line: int


def read_markdown(data: bytes, location: str, *, charset: str | None = None,
                  page_url: str | None = None) -> list[SourceRow]:
    """The FAQs of a Markdown page (see the module's rules). Raises
    :class:`FAQSourceError` for undecodable text or when no heading has an answer."""
    from markdown_it import MarkdownIt

    text = _without_front_matter(decode(data, location, declared=charset))
    md = MarkdownIt("commonmark", {"maxNesting": MAX_NESTING}).enable(["table", "strikethrough"])
    env: dict[str, Any] = {}
    tokens = md.parse(text, env)
    too_deep = next((t for t in tokens if t.level >= MAX_NESTING - 1), None)
    if too_deep is not None:  # markdown-it stops reading a block nested this deep: the rest would be lost
        raise FAQSourceError(location, too_deep.map[0] + 1 if too_deep.map else None,
                             f"blockquotes or lists nested {MAX_NESTING} deep: not a page faq-bot reads")
    headings = _headings(md, tokens, env, location)
    level = _question_level(headings)
    single = {lvl for lvl, n in Counter(h.level for h in headings).items() if n == 1}
    slugs = _github_slugs(headings)
    rows = []
    parents: dict[int, str] = {}
    for position, heading in enumerate(headings):
        if heading.level < level:
            parents = {lvl: text for lvl, text in parents.items() if lvl < heading.level}
            parents[heading.level] = heading.text
            continue
        if heading.level > level:
            continue
        end = next((h.index for h in headings[position + 1:] if h.level <= level), len(tokens))
        html = md.renderer.render(tokens[heading.index + 3:end], md.options, env)
        answer = html_to_text(parse_fragment(html, location, line=heading.line), base_url=page_url)
        if not answer:
            continue
        anchor = heading.anchor or slugs[position]
        fields = {"id": row_id(heading.text, heading.anchor), "question": heading.text,
                  "answer": answer, "url": f"{page_url}#{anchor}" if page_url else None,
                  "tags": [t for lvl, t in sorted(parents.items()) if lvl not in single]}
        rows.append(SourceRow(fields=fields, source=f"{location}#{anchor}", location=location, line=heading.line))
    if not rows:
        raise FAQSourceError(location, None, f"no FAQs found: looked for {SHAPE}")
    return unique_rows(rows)


def _without_front_matter(text: str) -> str:
    """``text`` with its front matter blanked out (its lines kept, so line numbers stay true)."""
    lines = text.split("\n")
    closers = _FENCES.get(lines[0].strip()) if lines else None
    if not closers:
        return text
    for end in range(1, len(lines)):
        if lines[end].strip() in closers:
            return "\n".join([""] * (end + 1) + lines[end + 1:])
    return text


def _headings(md: Any, tokens: list[Any], env: dict[str, Any], location: str) -> list[_Heading]:
    headings = []
    for index, token in enumerate(tokens):
        if token.type != "heading_open" or token.level != 0:
            continue
        raw = tokens[index + 1].content
        anchor = None
        match = _EXPLICIT_ANCHOR.search(raw)
        if match:
            anchor, raw = match.group(1), raw[: match.start()]
        line = token.map[0] + 1 if token.map else 1
        rendered = md.renderInline(raw, env)
        text = one_line(html_to_text(parse_fragment(rendered, location, line=line), links=False))
        if text:
            headings.append(_Heading(index, int(token.tag[1]), text, anchor, line))
    return headings


def _question_level(headings: list[_Heading]) -> int:
    questions = Counter(h.level for h in headings if looks_like_question(h.text))
    counts = questions or Counter(h.level for h in headings)
    if not counts:
        return 0
    return max(counts, key=lambda level: (counts[level], level))


def _github_slugs(headings: list[_Heading]) -> list[str]:
    """GitHub's anchors for the headings: lower case, punctuation dropped, spaces
    made hyphens, ``-1``, ``-2`` … after a repeat."""
    seen: Counter[str] = Counter()
    slugs = []
    for heading in headings:
        base = _SLUG_DROP.sub("", heading.text.lower()).replace(" ", "-")
        slugs.append(f"{base}-{seen[base]}" if seen[base] else base)
        seen[base] += 1
    return slugs
