"""How much of a source faq-bot will read, and how long it will wait for one.

Every reader and the URL fetcher take a :class:`Limits`; the defaults are
generous for real FAQ pages and help centers (a 5,000-question page is a few
megabytes) and stop a hostile or broken source with one line before it costs
minutes or gigabytes. Nesting deeper than :data:`MAX_HTML_DEPTH` is refused by
the HTML parser itself (libxml2's limit), and JSON nested deeper than Python's
recursion limit is refused by the JSON reader.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024
MAX_HTML_DEPTH = 256  # libxml2's limit without XML_PARSE_HUGE; real pages nest a few dozen deep


@dataclass(frozen=True)
class Limits:
    """Caps on one source; a source past any of them is refused, nothing read from it."""

    # Bytes of one file, one page, or all the pages of a help-center API together.
    max_bytes: int = 64 * MIB
    # Bytes a spreadsheet (a zip) may unpack to: a few kilobytes can unpack to gigabytes.
    max_unpacked_bytes: int = 256 * MIB
    # Rows of a spreadsheet.
    max_rows: int = 200_000
    # Seconds to connect, and to wait for each read of the answer.
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    # Seconds one URL may take in all (redirects, waits and a slow trickle of bytes included).
    deadline: float = 120.0
    # Redirects followed per URL, each checked again for its scheme.
    max_redirects: int = 5
    # Pages of a paginated help-center API.
    max_pages: int = 2_000
    # Times a 429 or 503 is retried, and the longest Retry-After waited for.
    retries: int = 3
    max_retry_wait: float = 30.0


DEFAULT_LIMITS = Limits()


def size_text(size: int) -> str:
    """``size`` bytes for a message: ``64 MiB``, ``12 KiB``, ``900 bytes``."""
    if size >= MIB:
        return f"{size / MIB:.0f} MiB"
    if size >= 1024:
        return f"{size / 1024:.0f} KiB"
    return f"{size} bytes"
