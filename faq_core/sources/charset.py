"""Bytes to text for a source, honouring the encoding it declares, or one clear error.

The order is the HTML standard's: a byte-order mark, then the charset the
server declared (``Content-Type: text/html; charset=…``), then (for HTML) a
``<meta charset>`` or ``<meta http-equiv="Content-Type">`` in the first
kilobytes or an XML declaration, else UTF-8. Nothing is guessed: text that is
not valid in its declared (or the default) encoding is refused with the line
of the first bad byte, rather than read as mojibake.
"""

from __future__ import annotations

import codecs
import re

from faq_core.errors import FAQSourceError

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_PRESCAN_BYTES = 4096
# The prescan reads a bounded prefix as Latin-1, as a browser's prescan reads bytes.
_META_CHARSET = re.compile(r"""<meta\b[^>]{0,512}?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE)
_XML_ENCODING = re.compile(r"""^\s*<\?xml\b[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""",
                           re.IGNORECASE)


def decode(data: bytes, location: str, *, declared: str | None = None, html: bool = False) -> str:
    """``data`` as text: by its BOM, else ``declared`` (the HTTP charset), else
    (``html``) its own declaration, else UTF-8. Raises :class:`FAQSourceError`
    for an unknown charset, bytes invalid in it, or binary data."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return _decode(data[len(bom):], location, name, "its byte-order mark")
    if declared:
        return _decode(data, location, declared, "the server")
    if html:
        own = _declared_in_page(data[:_PRESCAN_BYTES])
        if own:
            return _decode(data, location, own, "the page")
    return _decode(data, location, "utf-8", None)


def _declared_in_page(head: bytes) -> str | None:
    text = head.decode("latin-1")
    match = _XML_ENCODING.match(text) or _META_CHARSET.search(text)
    if not match:
        return None
    name = match.group(1).lower()
    # The HTML standard: a page cannot declare UTF-16 in itself (it would not have been readable to say so).
    return "utf-8" if name.startswith(("utf-16", "utf16")) else name


def _decode(data: bytes, location: str, charset: str, by: str | None) -> str:
    try:
        codec = codecs.lookup(charset)
    except LookupError:
        raise FAQSourceError(location, None, f"declares the unknown charset {charset!r}") from None
    try:
        text = data.decode(codec.name)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        if by is None:
            reason = "not UTF-8 and declares no charset: save it as UTF-8, or declare its charset"
        else:
            reason = f"not valid {charset} text, the charset {by} declares"
        raise FAQSourceError(location, line, reason) from None
    nul = text.find("\x00")
    if nul >= 0:
        raise FAQSourceError(location, text.count("\n", 0, nul) + 1, "holds binary data (a NUL byte), not text")
    return text
