"""Getting the bytes of a source: a local file, or an http(s) URL, within :class:`Limits`.

URL fetching is deliberately narrow: ``http`` and ``https`` only, at every
redirect too (at most ``max_redirects``, each target checked again, and any
``Authorization`` header dropped when a redirect leaves the origin), connect and
read timeouts plus an overall deadline, the body streamed and cut off at
``max_bytes`` (counted after decompression, so a gzip bomb stops there too),
and the ``Content-Type`` checked against what the caller can read. Nothing is
ever executed: the bytes go to a parser.

Failures of the network or the server raise :class:`SourceFetchError` (trying
again later may help); a refused URL, a wrong type, an oversize body or a
401/403/404 raise :class:`FAQSourceError`. Messages show the URL without
credentials (:func:`display_url`) and never a token.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests
import urllib3

from faq_core.errors import FAQSourceError, SourceFetchError
from faq_core.sources.limits import DEFAULT_LIMITS, Limits, size_text

USER_AGENT = "faq-bot/0.1 (FAQ source reader; never runs scripts)"
_REDIRECTS = (301, 302, 303, 307, 308)
_RETRIED = (429, 503)
_SECRET_WORDS = ("token", "key", "secret", "password", "passwd", "auth", "sig", "session", "credential")
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Fetched:
    """A fetched answer: the URL it finally came from, its bytes, media type and charset."""

    url: str
    data: bytes
    media_type: str
    charset: str | None


def display_url(url: str) -> str:
    """``url`` for a message: no user or password, and the values of query
    parameters whose names look secret (``?token=…``) replaced by ``***``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        query = [(k, "***" if any(w in k.lower() for w in _SECRET_WORDS) else v)
                 for k, v in parse_qsl(parts.query, keep_blank_values=True)]
        return urlunsplit((parts.scheme, host, parts.path, urlencode(query, safe="[]/:,*"), parts.fragment))
    except ValueError:
        return "(a malformed URL)"


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``url``: where a token may be sent."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def check_http_url(url: str) -> None:
    """Refuse anything but an absolute ``http://`` or ``https://`` URL with a host."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (a malformed port raises here)
    except ValueError:
        raise FAQSourceError(display_url(url), None, "not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        shown = f"{parts.scheme}:" if parts.scheme else "no scheme"
        raise FAQSourceError(display_url(url), None,
                             f"only http:// and https:// URLs are read, not {shown}")
    if not parts.hostname:
        raise FAQSourceError(display_url(url), None, "the URL has no host")


def read_local(path: Path, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """The bytes of a local source file, refused past ``limits.max_bytes``
    before anything is read into memory."""
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise FAQSourceError(path, None, "is a folder, not an FAQ source file")
        if size > limits.max_bytes:
            raise FAQSourceError(path, None, f"too large: {size_text(size)} (the limit is "
                                 f"{size_text(limits.max_bytes)} a source)")
        with path.open("rb") as handle:
            data = handle.read(limits.max_bytes + 1)
    except FileNotFoundError:
        raise FAQSourceError(path, None, "file not found") from None
    except OSError as error:
        raise FAQSourceError(path, None, f"cannot read file: {error.strerror}") from None
    if len(data) > limits.max_bytes:  # it grew while being read
        raise FAQSourceError(path, None, f"too large (the limit is {size_text(limits.max_bytes)} a source)")
    if not data.strip():
        raise FAQSourceError(path, None, "empty file: no FAQs")
    return data


def fetch(url: str, *, accept: Collection[str], limits: Limits = DEFAULT_LIMITS,
          headers: Mapping[str, str] | None = None, session: requests.Session | None = None,
          budget: list[int] | None = None) -> Fetched:
    """GET ``url`` within ``limits``: redirects followed by hand and re-checked,
    the body streamed up to the byte cap, the media type one of ``accept``.

    ``headers`` (an ``Authorization``, say) go to ``url``'s origin only.
    ``budget``, a one-item list, is the bytes left for a whole paginated source;
    each body is subtracted from it."""
    own = session is None
    session = session or requests.Session()
    try:
        return _fetch(session, url, accept, limits, dict(headers or {}), budget)
    finally:
        if own:
            session.close()


def _fetch(session: requests.Session, url: str, accept: Collection[str], limits: Limits,
           headers: dict[str, str], budget: list[int] | None) -> Fetched:
    check_http_url(url)
    start = time.monotonic()
    home = origin(url)
    current = url
    redirects = retries = 0
    while True:
        sent = {"User-Agent": USER_AGENT, "Accept": ", ".join(accept)}
        sent.update(headers if origin(current) == home else
                    {k: v for k, v in headers.items() if k.lower() not in ("authorization", "cookie")})
        response = _get(session, current, sent, limits, start)
        with response:
            if response.status_code in _REDIRECTS and "location" in response.headers:
                redirects += 1
                if redirects > limits.max_redirects:
                    raise FAQSourceError(display_url(url), None,
                                         f"more than {limits.max_redirects} redirects: not followed")
                target = urljoin(current, response.headers["location"])
                try:
                    check_http_url(target)
                except FAQSourceError as error:
                    raise FAQSourceError(display_url(url), None,
                                         f"redirects to {display_url(target)}, which is not read: "
                                         f"{error.reason}") from None
                current = target
                continue
            wait = _retry_after(response)
            if response.status_code in _RETRIED and retries < limits.retries and wait is not None \
                    and wait <= limits.max_retry_wait and time.monotonic() - start + wait < limits.deadline:
                retries += 1
                time.sleep(wait)
                continue
            _check_status(url, response)
            media_type, charset = _content_type(response.headers.get("content-type", ""))
            if media_type not in accept:
                shown = media_type or "no Content-Type"
                raise FAQSourceError(display_url(url), None,
                                     f"serves {shown}, not an FAQ source (read here: {', '.join(sorted(accept))})")
            data = _body(url, response, limits, start, budget)
            return Fetched(url=current, data=data, media_type=media_type, charset=charset)


def _get(session: requests.Session, url: str, headers: dict[str, str], limits: Limits,
         start: float) -> requests.Response:
    left = limits.deadline - (time.monotonic() - start)
    if left <= 0:
        raise SourceFetchError(display_url(url), None, f"no answer within {limits.deadline:g} s")
    timeout = (min(limits.connect_timeout, left), min(limits.read_timeout, left))
    try:
        return session.get(url, headers=headers, stream=True, allow_redirects=False, timeout=timeout)
    except requests.exceptions.SSLError:
        raise SourceFetchError(display_url(url), None, "the TLS connection failed (certificate or protocol)") \
            from None
    except requests.exceptions.ConnectTimeout:
        raise SourceFetchError(display_url(url), None, f"could not connect within {timeout[0]:g} s") from None
    except requests.exceptions.ReadTimeout:
        raise SourceFetchError(display_url(url), None, f"no answer within {timeout[1]:g} s") from None
    except requests.exceptions.InvalidURL:
        raise FAQSourceError(display_url(url), None, "not a valid URL") from None
    except requests.exceptions.RequestException as error:
        raise SourceFetchError(display_url(url), None,
                               f"could not connect ({type(error).__name__})") from None


def _retry_after(response: requests.Response) -> float | None:
    raw = response.headers.get("retry-after", "").strip()
    if not raw:
        return 1.0 if response.status_code in _RETRIED else None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None  # an HTTP date: not worth parsing for a short wait


def _check_status(url: str, response: requests.Response) -> None:
    status = response.status_code
    if status < 300:
        return
    reason = f"answered {status} {response.reason or ''}".rstrip()
    if status in (401, 403):
        raise FAQSourceError(display_url(url), None, f"{reason}: the token is missing, wrong or lacks access")
    if status in (404, 410):
        raise FAQSourceError(display_url(url), None, f"{reason}: check the URL")
    if status >= 500 or status in (408, 429):
        raise SourceFetchError(display_url(url), None, f"{reason}; try again later")
    raise FAQSourceError(display_url(url), None, reason)


def _content_type(header: str) -> tuple[str, str | None]:
    message = Message()
    message["content-type"] = header
    media_type = message.get_content_type() if header.strip() else ""
    charset = message.get_param("charset")
    return media_type.lower(), (charset.strip().lower() if isinstance(charset, str) and charset.strip() else None)


def _body(url: str, response: requests.Response, limits: Limits, start: float,
          budget: list[int] | None) -> bytes:
    cap = limits.max_bytes if budget is None else min(limits.max_bytes, budget[0])
    too_large = f"too large: more than {size_text(cap)} (the limit is {size_text(limits.max_bytes)} a source)"
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > cap:
        raise FAQSourceError(display_url(url), None, too_large)
    chunks: list[bytes] = []
    size = 0
    try:
        # read1 returns whatever one read brought, so a server trickling a byte at a time meets the deadline.
        while chunk := response.raw.read1(_CHUNK, decode_content=True):
            size += len(chunk)
            if size > cap:
                raise FAQSourceError(display_url(url), None, too_large)
            if time.monotonic() - start > limits.deadline:
                raise SourceFetchError(display_url(url), None, f"still arriving after {limits.deadline:g} s")
            chunks.append(chunk)
    except urllib3.exceptions.ReadTimeoutError:
        raise SourceFetchError(display_url(url), None,
                               f"the answer stalled: nothing for {limits.read_timeout:g} s") from None
    except urllib3.exceptions.HTTPError as error:
        raise SourceFetchError(display_url(url), None,
                               f"the answer broke off ({type(error).__name__})") from None
    if budget is not None:
        budget[0] -= size
    return b"".join(chunks)
