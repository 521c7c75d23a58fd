"""Secrets kept in the database, sealed: Fernet with keys from a setting.

A stored Slack bot token is a key to a workspace, so the store holds it
encrypted (``cryptography``'s Fernet: AES-128-CBC with an HMAC, and the time
it was sealed). The keys come from one setting, comma-separated
(``FAQ_TOKEN_KEYS``): the first seals, every one of them opens
(:class:`~cryptography.fernet.MultiFernet`). That is what makes a key
rotation possible without a moment where some rows cannot be read:

1. put a new key first and keep the old one after it, restart;
2. :meth:`Sealer.needs_resealing` finds the rows sealed with an older key,
   and the store seals them again with the first (at start-up);
3. once every replica has restarted, drop the old key.

Nothing here logs or echoes a key or what it seals.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

KEY_BYTES = 32  # a Fernet key: 32 bytes, URL-safe base64 (44 characters)
GENERATE_KEY = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


class SealError(ValueError):
    """A sealed value could not be opened with any of the keys (a key was dropped too soon)."""


def keys_problem(raw: str | None) -> str | None:
    """Why ``raw`` is not a comma-separated list of Fernet keys (``None`` when it
    is). The reason says which key, never what it holds."""
    keys = [part.strip() for part in (raw or "").split(",")]
    if not any(keys):
        return "it holds no key"
    for number, key in enumerate(keys, start=1):
        which = f"key {number} of {len(keys)}"
        if not key:
            return f"{which} is empty (a stray comma?)"
        try:
            decoded = base64.urlsafe_b64decode(key.encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            return f"{which} is not URL-safe base64"
        if len(decoded) != KEY_BYTES:
            return f"{which} is {len(decoded)} bytes, not the {KEY_BYTES} of a Fernet key"
    return None


class Sealer:
    """Seals and opens text with the keys of ``raw`` (see the module docstring).
    Raises ``ValueError`` (the reason of :func:`keys_problem`) for malformed keys."""

    def __init__(self, raw: str) -> None:
        problem = keys_problem(raw)
        if problem:
            raise ValueError(problem)
        fernets = [Fernet(part.strip().encode("ascii")) for part in raw.split(",")]
        self._first = fernets[0]
        self._all = MultiFernet(fernets)

    def seal(self, text: str) -> str:
        """``text`` encrypted with the first key (a different result every time)."""
        return self._all.encrypt(text.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        """What :meth:`seal` sealed, with whichever key sealed it. Raises :class:`SealError`."""
        try:
            return self._all.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise SealError("a stored secret cannot be opened with any key in FAQ_TOKEN_KEYS") from None

    def needs_resealing(self, sealed: str) -> bool:
        """Whether ``sealed`` was sealed with a key other than the first."""
        try:
            self._first.decrypt(sealed.encode("ascii"))
        except (InvalidToken, UnicodeError):
            return True
        return False

    def reseal(self, sealed: str) -> str:
        """``sealed`` sealed again with the first key. Raises :class:`SealError`."""
        try:
            return self._all.rotate(sealed.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise SealError("a stored secret cannot be opened with any key in FAQ_TOKEN_KEYS") from None


class SealedText(TypeDecorator[str]):
    """A text column whose values are sealed on the way in and opened on the way
    out: what is in the database is never the secret itself."""

    impl = Text
    cache_ok = False  # holds the keys, which must not end up in a statement cache key

    def __init__(self, sealer: Sealer) -> None:
        super().__init__()
        self.sealer = sealer

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.sealer.seal(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.sealer.open(value)
