"""Parsing HTML into an element tree with lxml, the one place that does.

lxml (libxml2) is tolerant of malformed markup, never fetches anything
(``no_network``) and never runs a script. Its limits are kept on purpose: a
document nested more than :data:`MAX_HTML_DEPTH` elements deep, or with a text
node over 10 MB, makes libxml2 stop; that is reported as an error naming the
source rather than read as a silently cut-off page. Every walk over the tree
in ``faq_core.sources`` is iterative, so no input can exhaust Python's stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from faq_core.errors import FAQSourceError
from faq_core.sources.limits import MAX_HTML_DEPTH

if TYPE_CHECKING:
    from lxml.html import HtmlElement

BLOCKED = ("script", "style", "template", "noscript", "head", "title", "svg", "math", "iframe", "object",
           "embed", "canvas", "select", "option", "datalist", "button", "input", "textarea")


def _parser() -> Any:
    from lxml import html

    return html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True)


def parse_document(text: str, location: str) -> HtmlElement:
    """The ``<html>`` element of a whole page (already decoded to text)."""
    from lxml import etree, html

    parser = _parser()
    try:
        root = html.document_fromstring(text.encode("utf-8", "surrogatepass"), parser=parser)
    except etree.ParserError:
        raise FAQSourceError(location, None, "empty page: no HTML in it") from None
    _check_limits(parser, location, None)
    return root


def parse_fragment(text: str, location: str, *, line: int | None = None, where: str | None = None) -> HtmlElement:
    """A ``<div>`` holding an HTML fragment (an article body, a JSON-LD answer)."""
    from lxml import etree, html

    parser = _parser()
    try:
        root = html.fragment_fromstring(text.encode("utf-8", "surrogatepass"), create_parent="div", parser=parser)
    except etree.ParserError:
        return html.fragment_fromstring(b"", create_parent="div")
    _check_limits(parser, location, line, where, fragment=True)
    return root


def _check_limits(parser: Any, location: str, line: int | None, where: str | None = None, *,
                  fragment: bool = False) -> None:
    """Refuse what libxml2 stopped reading; a fragment's error is at its own ``line`` in the source."""
    for entry in parser.error_log:
        if entry.type_name != "ERR_RESOURCE_LIMIT":
            continue
        at = f"{where}: " if where else ""
        if "depth" in entry.message.lower():
            reason = f"{at}elements nested more than {MAX_HTML_DEPTH} deep: not a page faq-bot reads"
        else:
            reason = f"{at}beyond a limit of the HTML parser ({entry.message.strip()})"
        raise FAQSourceError(location, line if fragment else (entry.line or None), reason)


def tag_of(node: object) -> str | None:
    """The lower-case tag name of an element; ``None`` for comments and the like."""
    tag = getattr(node, "tag", None)
    return tag.lower() if isinstance(tag, str) else None
