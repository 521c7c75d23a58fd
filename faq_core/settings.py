"""Every setting of faq-bot, read in one place from the environment and ``.env``.

``load_settings()`` is the only function that looks at ``os.environ``; the rest
of the code receives a :class:`Settings`. Secrets are kept out of ``repr`` so a
logged or printed ``Settings`` never shows a token.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TypeVar

from faq_core.errors import ConfigError
from faq_core.links import is_http_url

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
BACKENDS = ("auto", "hf-inference", "tei", "openai", "local", "local-torch")
# Matches per question. A Slack button carries every match's FAQ id (up to 128
# characters) in its 2,000-character value, and nobody reads 50 suggestions.
MAX_TOP_K = 10
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")
_SLACK_TARGET = re.compile(r"^[CGS][A-Z0-9]{2,20}$")

_T = TypeVar("_T")


@dataclass(frozen=True)
class Settings:
    """The whole configuration. Field docs double as the README's settings table."""

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
    faq_reload_seconds: float = 60.0
    hf_endpoint: str | None = None  # the Hub's URL (HF_ENDPOINT): a mirror, or a local stand-in in tests
    hub_webhook_secret: str | None = field(default=None, repr=False)
    faq_min_score: float | None = None
    faq_top_k: int = 3
    faq_cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "faq-bot")
    log_level: str = "INFO"
    log_format: str = "text"
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_api_url: str = "https://slack.com/api/"
    discord_bot_token: str | None = field(default=None, repr=False)
    discord_guild_ids: tuple[int, ...] = ()
    discord_api_url: str = "https://discord.com/api/v10"
    discord_handoff_channel: str | None = None
    discord_forum_channel_ids: tuple[int, ...] = ()
    database_url: str = "sqlite:///faq_bot.db"
    feedback_retention_days: float = 90.0
    intake_lease_seconds: float = 30.0
    metrics_port: int = 9464
    shutdown_deadline_seconds: float = 20.0
    record_text: bool = True
    faq_admins: tuple[str, ...] = ()  # Slack user ids: the App Home shows them the revision and the FAQ review
    faq_handoff: str | None = None
    faq_handoff_text: str | None = None
    digest_channel: str | None = None
    digest_every_days: float = 7.0
    # Help-center APIs read as FAQ sources (faq_core.sources): Zendesk Guide (an API token with the agent's
    # email, or an OAuth access token alone; public articles need neither) and Intercom (an access token).
    zendesk_api_token: str | None = field(default=None, repr=False)
    zendesk_email: str | None = None
    intercom_token: str | None = field(default=None, repr=False)

    def resolved_backend(self) -> str:
        """The backend ``auto`` stands for: the HF API with a token, else local."""
        if self.embedding_backend != "auto":
            return self.embedding_backend
        return "hf-inference" if self.hf_token else "local"

    def secrets(self) -> list[str]:
        """The secret values that are set, so log filters can mask them."""
        values = (self.hf_token, self.slack_bot_token, self.slack_app_token, self.slack_signing_secret,
                  self.hub_webhook_secret, self.discord_bot_token, self.zendesk_api_token, self.intercom_token)
        return [v for v in values if v]


def _parse(name: str, raw: str, convert: Callable[[str], _T], what: str) -> _T:
    try:
        return convert(raw)
    except ValueError:
        raise ConfigError(f"{name} must be {what}, got {raw!r}") from None


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError(raw)
    return value


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError(raw)
    return value


def _top_k(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= MAX_TOP_K:
        raise ValueError(raw)
    return value


def _flag(raw: str) -> bool:
    value = raw.lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


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


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 <= value <= 65535:
        raise ValueError(raw)
    return value


def _http_url(raw: str) -> str:
    if not is_http_url(raw):
        raise ValueError(raw)
    return raw


def _snowflake(raw: str) -> str:
    """One Discord id (a channel), kept as the string Discord's JSON carries."""
    (value,) = _snowflakes(raw)
    return str(value)


def _snowflakes(raw: str) -> tuple[int, ...]:
    """Comma-separated Discord ids (guilds, channels)."""
    ids = tuple(int(part) for part in raw.replace(" ", "").split(",") if part)
    if not ids or any(i <= 0 for i in ids):
        raise ValueError(raw)
    return ids


def _slack_ids(raw: str) -> tuple[str, ...]:
    """Comma-separated Slack user ids (``U…`` or ``W…``), e.g. ``FAQ_ADMINS``."""
    ids = tuple(part.strip() for part in raw.split(",") if part.strip())
    if not ids or any(not _SLACK_USER.match(i) for i in ids):
        raise ValueError(raw)
    return ids


def _handoff_target(raw: str) -> str:
    """A channel (``C…``/``G…``) or user group (``S…``) id, e.g. ``FAQ_HANDOFF``."""
    if not _SLACK_TARGET.match(raw):
        raise ValueError(raw)
    return raw


def _channel(raw: str) -> str:
    """A channel id (``C…``/``G…``), e.g. ``DIGEST_CHANNEL``."""
    if not _SLACK_TARGET.match(raw) or raw.startswith("S"):
        raise ValueError(raw)
    return raw


def _score(raw: str) -> float:
    """A confidence threshold: answers carry a confidence from 0 to 1."""
    value = float(raw)
    if not 0.0 <= value <= 1.0:
        raise ValueError(raw)
    return value


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
    """Build :class:`Settings` from ``env`` (default: ``os.environ`` after
    loading ``.env`` from the working directory without overriding what the
    environment already sets). Raises :class:`ConfigError` naming the bad setting."""
    if env is None:
        if dotenv:
            load_env_file()
        env = os.environ

    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    backend = (get("EMBEDDING_BACKEND") or "auto").lower()
    if backend not in BACKENDS:
        raise ConfigError(f"EMBEDDING_BACKEND must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend in ("tei", "openai") and not get("EMBEDDING_URL"):
        raise ConfigError(f"EMBEDDING_URL is required when EMBEDDING_BACKEND={backend}")

    kwargs: dict[str, object] = {
        "hf_token": get("HF_TOKEN"),
        "embedding_backend": backend,
        "faq_index": get("FAQ_INDEX"),
        "faq_index_revision": get("FAQ_INDEX_REVISION"),
        "slack_bot_token": get("SLACK_BOT_TOKEN"),
        "slack_app_token": get("SLACK_APP_TOKEN"),
        "slack_signing_secret": get("SLACK_SIGNING_SECRET"),
        "hub_webhook_secret": get("HUB_WEBHOOK_SECRET"),
        "faq_handoff_text": get("FAQ_HANDOFF_TEXT"),
        "discord_bot_token": get("DISCORD_BOT_TOKEN"),
        "zendesk_api_token": get("ZENDESK_API_TOKEN"),
        "zendesk_email": get("ZENDESK_EMAIL"),
        "intercom_token": get("INTERCOM_TOKEN"),
    }
    optional: list[tuple[str, str, Callable[[str], object], str]] = [
        ("embedding_model", "EMBEDDING_MODEL", str, "a model id"),
        ("embedding_timeout", "EMBEDDING_TIMEOUT", _positive_float, "a positive number of seconds"),
        ("embedding_connect_timeout", "EMBEDDING_CONNECT_TIMEOUT", _positive_float, "a positive number of seconds"),
        ("embedding_retry_budget", "EMBEDDING_RETRY_BUDGET", _positive_float, "a positive number of seconds"),
        ("embedding_batch_size", "EMBEDDING_BATCH_SIZE", _positive_int, "a positive whole number"),
        ("faq_min_score", "FAQ_MIN_SCORE", _score, "a confidence from 0 to 1"),
        ("faq_top_k", "FAQ_TOP_K", _top_k, f"a whole number from 1 to {MAX_TOP_K}"),
        ("faq_cache_dir", "FAQ_CACHE_DIR", lambda raw: Path(raw).expanduser(), "a folder"),
        ("log_level", "LOG_LEVEL", _log_level, f"one of {', '.join(LOG_LEVELS)}"),
        ("log_format", "LOG_FORMAT", _log_format, f"one of {', '.join(LOG_FORMATS)}"),
        ("embedding_url", "EMBEDDING_URL", _http_url, "an http:// or https:// URL"),
        ("hf_endpoint", "HF_ENDPOINT", lambda raw: _http_url(raw).rstrip("/"), "an http:// or https:// URL"),
        ("faq_reload_seconds", "FAQ_RELOAD_SECONDS", _positive_float, "a positive number of seconds"),
        ("slack_api_url", "SLACK_API_URL", _http_url, "an http:// or https:// URL"),
        ("discord_guild_ids", "DISCORD_GUILD_IDS", _snowflakes, "comma-separated server (guild) ids"),
        ("discord_api_url", "DISCORD_API_URL", _http_url, "an http:// or https:// URL"),
        ("discord_handoff_channel", "DISCORD_HANDOFF_CHANNEL", _snowflake, "a Discord channel id (digits)"),
        ("discord_forum_channel_ids", "DISCORD_FORUM_CHANNEL_IDS", _snowflakes, "comma-separated forum channel ids"),
        ("database_url", "DATABASE_URL", str, "an SQLAlchemy URL"),
        ("feedback_retention_days", "FEEDBACK_RETENTION_DAYS", _positive_float, "a positive number of days"),
        ("intake_lease_seconds", "INTAKE_LEASE_SECONDS", _positive_float, "a positive number of seconds"),
        ("metrics_port", "METRICS_PORT", _port, "a port number from 0 to 65535"),
        ("shutdown_deadline_seconds", "SHUTDOWN_DEADLINE_SECONDS", _positive_float, "a positive number of seconds"),
        ("record_text", "FAQ_RECORD_TEXT", _flag, "true or false"),
        ("faq_admins", "FAQ_ADMINS", _slack_ids, "comma-separated Slack user ids (U0123ABCD,U0456EFGH)"),
        ("faq_handoff", "FAQ_HANDOFF", _handoff_target, "a Slack channel id (C…) or user group id (S…)"),
        ("digest_channel", "DIGEST_CHANNEL", _channel, "a Slack channel id (C…)"),
        ("digest_every_days", "DIGEST_EVERY_DAYS", _positive_float, "a positive number of days"),
    ]
    for attr, name, convert, what in optional:
        raw = get(name)
        if raw is not None:
            kwargs[attr] = _parse(name, raw, convert, what)
    known = {f.name for f in fields(Settings)}
    assert set(kwargs) <= known
    return Settings(**kwargs)  # type: ignore[arg-type]


class _ReadRecorder(dict[str, str]):
    """An empty environment that remembers which names were looked up."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        self.read.add(key)
        return default


def setting_names() -> frozenset[str]:
    """Every environment variable :func:`load_settings` reads: what a
    Dockerfile, a compose file or ``.env.example`` may set (their tests check)."""
    recorder = _ReadRecorder()
    load_settings(recorder, dotenv=False)
    return frozenset(recorder.read)
