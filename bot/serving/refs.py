"""FAQ index references: what a route (and ``FAQ_INDEX``) names an index by.

A reference is a Hub dataset ``user/name``, optionally followed by
``@branch-or-commit`` (``acme/it-faq@main``, ``acme/it-faq@<40-hex commit>``),
or a local index folder (made absolute, so the CLI and the bot agree on it
whatever folder each runs in). :func:`check_ref` says in one line what is
wrong with one; :func:`parse_ref` splits a checked one for loading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from faq_core.errors import ConfigError
from faq_core.index import META_FILE, is_hub_repo_id, not_an_index_location

MAX_REF_CHARS = 512
_REVISION = re.compile(r"^[\w.][\w./-]*$")


@dataclass(frozen=True)
class IndexRef:
    """A parsed reference: ``location`` (Hub id or folder) and, for the Hub, the ``revision`` (None: ``main``)."""

    location: str
    revision: str | None = None

    @property
    def hub(self) -> bool:
        return is_hub_repo_id(self.location)

    def __str__(self) -> str:
        return f"{self.location}@{self.revision}" if self.revision else self.location


def parse_ref(text: str) -> IndexRef:
    """``text`` split into location and revision (no checks of the folder: see :func:`check_ref`)."""
    location, at, revision = text.strip().partition("@")
    if at and is_hub_repo_id(location):
        return IndexRef(location, revision or None)
    return IndexRef(text.strip())


def check_ref(text: str) -> str:
    """``text`` as a route stores it; :class:`ConfigError` (one line) when it names no index."""
    text = (text or "").strip()
    if not text:
        raise ConfigError("an FAQ index is needed: a Hub dataset user/name[@branch-or-commit] or a local index folder")
    if len(text) > MAX_REF_CHARS or not text.isprintable():
        raise ConfigError(f"an FAQ index reference is at most {MAX_REF_CHARS} printable characters")
    location, at, revision = text.partition("@")
    if at and is_hub_repo_id(location):
        if not _REVISION.match(revision) or ".." in revision:
            raise ConfigError(f"{revision!r} is not a branch or commit of {location}")
        return text
    if is_hub_repo_id(text):
        return text
    folder = Path(text).expanduser()
    if folder.is_dir():
        if not (folder / META_FILE).is_file():
            raise ConfigError(f"{text} is a folder but not an FAQ index (no {META_FILE}): build one with "
                              "'faq-bot index build SOURCE --out DIR'")
        return str(folder.resolve())
    raise ConfigError(not_an_index_location(text))
