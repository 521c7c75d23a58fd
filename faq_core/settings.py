"""The library's settings, read in one place from the environment and ``.env``.

:class:`Settings` holds what faq_core itself reads: the embedding backend,
the index and its revision, the cache, logging, and the help-center tokens a
source fetch may send. The service built on it extends the class with its own
fields (``bot/settings.py``, and each platform's settings beside its code);
every one of them is read by :meth:`Settings.load`, the only code that looks at
``os.environ``, from the :class:`Setting` specs each class declares. Secrets
(fields with ``repr=False``) never show in ``repr`` and are listed by
:meth:`Settings.secrets` so log filters can mask them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Self

from faq_core.errors import ConfigError
from faq_core.links import is_http_url

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
BACKENDS = ("auto", "hf-inference", "tei", "openai", "local", "local-torch")
# Matches per question. A Slack button carries every match's FAQ id (up to 128
# characters) in its 2,000-character value, and nobody reads 50 suggestions.
MAX_TOP_K = 10
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")


@dataclass(frozen=True)
class Setting:
    """One environment variable: the field it fills, how its text is read
    (a ``ValueError`` means malformed), and what it must be, for the error."""

    field: str
    name: str
    convert: Callable[[str], object] = str
    what: str = ""


def positive_float(raw: str) -> float:
    """A number above zero (seconds, days), and finite: ``inf`` would pass here
    and crash later, where it is turned into a duration or a byte count."""
    value = float(raw)
    if not 0 < value < math.inf:
        raise ValueError(raw)
    return value


def positive_int(raw: str) -> int:
    """A whole number above zero."""
    value = int(raw)
    if value <= 0:
        raise ValueError(raw)
    return value


def flag(raw: str) -> bool:
    """true/false, yes/no, on/off, 1/0."""
    value = raw.lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def port(raw: str) -> int:
    """A TCP port (0: any free one)."""
    value = int(raw)
    if not 0 <= value <= 65535:
        raise ValueError(raw)
    return value


def http_url(raw: str) -> str:
    """An ``http://`` or ``https://`` URL."""
    if not is_http_url(raw):
        raise ValueError(raw)
    return raw


def _top_k(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= MAX_TOP_K:
        raise ValueError(raw)
    return value


def _log_level(raw: str) -> str:
    value = raw.upper()
    if value == "WARN":
        value = "WARNING"
    if value not in LOG_LEVELS:
        raise ValueError(raw)
    return value


def _log_format(raw: str) -> str:
    value = raw.lower()
    if value not in LOG_FORMATS:
        raise ValueError(raw)
    return value


def _score(raw: str) -> float:
    """A confidence threshold: answers carry a confidence from 0 to 1."""
    value = float(raw)
    if not 0.0 <= value <= 1.0:
        raise ValueError(raw)
    return value


SECONDS = "a positive number of seconds"
URL = "an http:// or https:// URL"


@dataclass(frozen=True)
class Settings:
    """The library's configuration. Field docs double as the README's settings table."""

    hf_token: str | None = field(default=None, repr=False)
    embedding_backend: str = "auto"
    embedding_model: str = DEFAULT_MODEL
    embedding_url: str | None = None
    embedding_timeout: float = 30.0
    embedding_connect_timeout: float = 5.0
    embedding_retry_budget: float = 20.0
    embedding_batch_size: int = 32
    faq_index: str | None = None
    faq_index_revision: str | None = None  # a branch to follow (reloaded when it moves) or a commit to pin
    hf_endpoint: str | None = None  # the Hub's URL (HF_ENDPOINT): a mirror, or a local stand-in in tests
    faq_min_score: float | None = None
    faq_top_k: int = 3
    faq_cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "faq-bot")
    log_level: str = "INFO"
    log_format: str = "text"
    # Help-center APIs read as FAQ sources (faq_core.sources): Zendesk Guide (an API token with the agent's
    # email, or an OAuth access token alone; public articles need neither) and Intercom (an access token).
    zendesk_api_token: str | None = field(default=None, repr=False)
    zendesk_email: str | None = None
    intercom_token: str | None = field(default=None, repr=False)

    # The variables this class reads beyond EMBEDDING_BACKEND (checked first, in _read); a subclass
    # declares its own, read after its base's.
    ENV: ClassVar[tuple[Setting, ...]] = (
        Setting("hf_token", "HF_TOKEN"),
        Setting("faq_index", "FAQ_INDEX"),
        Setting("faq_index_revision", "FAQ_INDEX_REVISION"),
        Setting("zendesk_api_token", "ZENDESK_API_TOKEN"),
        Setting("zendesk_email", "ZENDESK_EMAIL"),
        Setting("intercom_token", "INTERCOM_TOKEN"),
        Setting("embedding_model", "EMBEDDING_MODEL", str, "a model id"),
        Setting("embedding_timeout", "EMBEDDING_TIMEOUT", positive_float, SECONDS),
        Setting("embedding_connect_timeout", "EMBEDDING_CONNECT_TIMEOUT", positive_float, SECONDS),
        Setting("embedding_retry_budget", "EMBEDDING_RETRY_BUDGET", positive_float, SECONDS),
        Setting("embedding_batch_size", "EMBEDDING_BATCH_SIZE", positive_int, "a positive whole number"),
        Setting("faq_min_score", "FAQ_MIN_SCORE", _score, "a confidence from 0 to 1"),
        Setting("faq_top_k", "FAQ_TOP_K", _top_k, f"a whole number from 1 to {MAX_TOP_K}"),
        Setting("faq_cache_dir", "FAQ_CACHE_DIR", lambda raw: Path(raw).expanduser(), "a folder"),
        Setting("log_level", "LOG_LEVEL", _log_level, f"one of {', '.join(LOG_LEVELS)}"),
        Setting("log_format", "LOG_FORMAT", _log_format, f"one of {', '.join(LOG_FORMATS)}"),
        Setting("embedding_url", "EMBEDDING_URL", http_url, URL),
        Setting("hf_endpoint", "HF_ENDPOINT", lambda raw: http_url(raw).rstrip("/"), URL),
    )

    def resolved_backend(self) -> str:
        """The backend ``auto`` stands for: the HF API with a token, else local."""
        if self.embedding_backend != "auto":
            return self.embedding_backend
        return "hf-inference" if self.hf_token else "local"

    def secrets(self) -> list[str]:
        """The secret values that are set (every field kept out of ``repr``), so log filters can mask them."""
        values = (getattr(self, f.name) for f in fields(self) if not f.repr)
        return [value for value in values if value]

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Self:
        """The settings from ``env`` (default: ``os.environ`` after loading
        ``.env`` from the working directory without overriding what the
        environment already sets). Raises :class:`ConfigError` naming the bad setting."""
        if env is None:
            if dotenv:
                load_env_file()
            env = os.environ
        values = cls._read(env)
        known = {f.name for f in fields(cls)}
        assert set(values) <= known, set(values) - known
        return cls(**values)

    @classmethod
    def _read(cls, env: Mapping[str, str]) -> dict[str, Any]:
        """The fields set in ``env``: the library's checks first, then every
        class's :attr:`ENV`, base classes first."""
        backend = (_get(env, "EMBEDDING_BACKEND") or "auto").lower()
        if backend not in BACKENDS:
            raise ConfigError(f"EMBEDDING_BACKEND must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if backend in ("tei", "openai") and not _get(env, "EMBEDDING_URL"):
            raise ConfigError(f"EMBEDDING_URL is required when EMBEDDING_BACKEND={backend}")
        values: dict[str, Any] = {"embedding_backend": backend}
        for klass in reversed(cls.__mro__):
            for setting in vars(klass).get("ENV", ()):
                raw = _get(env, setting.name)
                if raw is not None:
                    values[setting.field] = parse(setting, raw)
        return values

    @classmethod
    def names(cls) -> frozenset[str]:
        """Every environment variable :meth:`load` reads: what a Dockerfile, a
        compose file or ``.env.example`` may set (their tests check)."""
        recorder = _ReadRecorder()
        cls._read(recorder)
        return frozenset(recorder.read)


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def parse(setting: Setting, raw: str) -> object:
    """``raw`` read for ``setting``; a malformed value is a :class:`ConfigError` naming it."""
    if not setting.what:
        return raw
    try:
        return setting.convert(raw)
    except ValueError:
        raise ConfigError(f"{setting.name} must be {setting.what}, got {raw!r}") from None


def load_env_file() -> Path | None:
    """Load the ``.env`` of the working directory (or the nearest folder above
    it) into ``os.environ`` without overriding what the environment sets;
    returns it (None: there is none). A file that is not UTF-8 text, or cannot
    be read, is a :class:`ConfigError` naming the file and the first bad byte."""
    from dotenv import find_dotenv, load_dotenv

    found = find_dotenv(usecwd=True)
    if not found:
        return None
    path = Path(found)
    try:
        load_dotenv(path, override=False)
    except UnicodeDecodeError:
        raise ConfigError(_not_utf8(path)) from None
    except OSError as error:
        raise ConfigError(f"{path} cannot be read: {error.strerror or error}") from None
    return path


def _not_utf8(path: Path) -> str:
    """Where ``path`` stops being UTF-8: byte offset, line and the byte itself."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return (f"{path} is not UTF-8 text: byte 0x{data[error.start]:02x} at offset {error.start} (line {line}) "
                "cannot be decoded; save the file as UTF-8")
    return f"{path} is not UTF-8 text; save it as UTF-8"


def load_settings(env: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Settings:
    """The library's :class:`Settings` (:meth:`Settings.load`)."""
    return Settings.load(env, dotenv=dotenv)


class _ReadRecorder(dict[str, str]):
    """An empty environment that remembers which names were looked up."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        self.read.add(key)
        return default
