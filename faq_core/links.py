"""The one rule for a link faq-bot stores or calls: ``http://`` or ``https://``
with a host name, nothing else.

An FAQ's ``url`` (from ``faq-bot index build`` and from a drafted new FAQ in
the review loop) is posted to Slack and Discord as a clickable "Source", so a
``javascript:`` or ``file:`` link must never get in; the URL settings
(``EMBEDDING_URL``, ``SLACK_API_URL``, ...) are called by the bot. Both use
:func:`link_problem`, so the rule is the same everywhere.
"""

from __future__ import annotations

from urllib.parse import urlsplit

SCHEMES = ("http", "https")


def link_problem(url: str) -> str | None:
    """Why ``url`` is not an http(s) link with a host, or None when it is one."""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return "a link cannot hold spaces or control characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return "it is not a well-formed link"
    if parts.scheme.lower() not in SCHEMES:
        return "a link must start with http:// or https://"
    if not host:
        return "a link needs a host name after http:// or https://"
    return None


def is_http_url(url: str) -> bool:
    """Whether ``url`` passes :func:`link_problem`."""
    return link_problem(url) is None
