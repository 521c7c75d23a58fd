"""The Slack bot's settings, and their start-up checks before anything slow happens.

:class:`SlackSettings` adds Slack's tokens, its Web API URL and the Slack ids
of the review loop (``FAQ_ADMINS``, ``FAQ_HANDOFF``, ``DIGEST_CHANNEL``) to
the service's. A missing or malformed token stops ``python -m bot`` with one
sentence naming the setting and saying where to find the right value, instead
of a stack trace minutes later. The values themselves are never echoed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

from bot import messages
from bot.settings import BotSettings
from bot.store.sealing import keys_problem
from faq_core.errors import ConfigError
from faq_core.settings import URL, Setting, http_url, positive_int

_BOT_TOKEN = re.compile(r"^xoxb-[A-Za-z0-9-]+$")
_APP_TOKEN = re.compile(r"^xapp-[A-Za-z0-9-]+$")
_SIGNING_SECRET = re.compile(r"^[A-Za-z0-9]{16,}$")
_CLIENT_ID = re.compile(r"^\d+\.\d+$")
_CLIENT_SECRET = re.compile(r"^[A-Za-z0-9]{16,}$")
_PREFIXES = {"xoxb-": "a bot token", "xapp-": "an app-level token", "xoxp-": "a user token",
             "xoxe": "a refresh token", "xoxa-": "a workspace token"}
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")
_SLACK_TARGET = re.compile(r"^[CGS][A-Z0-9]{2,20}$")

SOCKET_MODE = "socket"
HTTP_MODE = "http"


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


# Slack's rotating bot tokens live 12 hours: a refresh lead of that much or
# more would have Bolt refresh the token on every request it handles.
TOKEN_LIFETIME_MINUTES = 12 * 60


def rotation_lead(raw: str) -> int:
    """SLACK_TOKEN_ROTATION_MINUTES: minutes before expiry, within a token's lifetime."""
    value = positive_int(raw)
    if value >= TOKEN_LIFETIME_MINUTES:
        raise ValueError(raw)
    return value


@dataclass(frozen=True)
class SlackSettings(BotSettings):
    """The service's settings and Slack's."""

    slack_bot_token: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_api_url: str = "https://slack.com/api/"
    faq_admins: tuple[str, ...] = ()  # Slack user ids: the App Home shows them the revision and the FAQ review
    faq_handoff: str | None = None
    digest_channel: str | None = None
    # distribution mode (installed into many workspaces through Slack's OAuth flow)
    slack_client_id: str | None = None
    slack_client_secret: str | None = field(default=None, repr=False)
    slack_redirect_uri: str | None = None
    faq_token_keys: str | None = field(default=None, repr=False)
    slack_token_rotation_minutes: int = 120

    ENV: ClassVar[tuple[Setting, ...]] = (
        Setting("slack_bot_token", "SLACK_BOT_TOKEN"),
        Setting("slack_app_token", "SLACK_APP_TOKEN"),
        Setting("slack_signing_secret", "SLACK_SIGNING_SECRET"),
        Setting("slack_api_url", "SLACK_API_URL", http_url, URL),
        Setting("faq_admins", "FAQ_ADMINS", _slack_ids, "comma-separated Slack user ids (U0123ABCD,U0456EFGH)"),
        Setting("faq_handoff", "FAQ_HANDOFF", _handoff_target, "a Slack channel id (C…) or user group id (S…)"),
        Setting("digest_channel", "DIGEST_CHANNEL", _channel, "a Slack channel id (C…)"),
        Setting("slack_client_id", "SLACK_CLIENT_ID"),
        Setting("slack_client_secret", "SLACK_CLIENT_SECRET"),
        Setting("slack_redirect_uri", "SLACK_REDIRECT_URI", http_url, URL),
        Setting("faq_token_keys", "FAQ_TOKEN_KEYS"),
        Setting("slack_token_rotation_minutes", "SLACK_TOKEN_ROTATION_MINUTES", rotation_lead,
                "a whole number of minutes from 1 to 719 (a rotating token lives 12 hours)"),
    )

    def secrets(self) -> list[str]:
        """The secret values, each key of ``FAQ_TOKEN_KEYS`` on its own too (a log line may hold one key)."""
        keys = [key.strip() for key in (self.faq_token_keys or "").split(",") if key.strip()]
        return [*super().secrets(), *keys]

    @property
    def distribution(self) -> bool:
        """Whether the bot is installed through Slack's OAuth flow (``SLACK_CLIENT_ID``/``SLACK_CLIENT_SECRET``)
        rather than given one workspace's ``SLACK_BOT_TOKEN``."""
        return bool(self.slack_client_id or self.slack_client_secret)


@dataclass(frozen=True)
class SlackConfig:
    """The transport chosen and the credentials it needs (already checked)."""

    mode: str
    bot_token: str | None  # None in distribution mode: each installation has its own
    app_token: str | None
    signing_secret: str | None
    distribution: bool = False


def _kind(value: str) -> str:
    for prefix, kind in _PREFIXES.items():
        if value.startswith(prefix):
            return kind
    return "an unknown kind of value"


def _why_malformed(value: str, prefix: str) -> str:
    """Why ``value`` is not a token starting with ``prefix``: the wrong kind of
    token, or the right kind with characters a token never holds (a space,
    quotes, a line break pasted along with it)."""
    if value.startswith(prefix):
        return (f"it starts with {prefix} but also holds characters a Slack token never has "
                "(spaces, quotes or line breaks: check what was pasted)")
    return f"it should start with {prefix} but holds {_kind(value)}"


def check_slack_settings(settings: SlackSettings, *, http: bool = False) -> SlackConfig:
    """Pick the transport (``--http`` wins; else Socket Mode when
    ``SLACK_APP_TOKEN`` is set; else HTTP) and check its settings.
    Raises :class:`ConfigError` naming the first bad setting. With
    ``SLACK_CLIENT_ID``/``SLACK_CLIENT_SECRET``, distribution mode's settings
    are checked instead (:func:`check_distribution_settings`)."""
    if settings.distribution:
        return check_distribution_settings(settings, http=http)
    bot_token = settings.slack_bot_token
    if not bot_token:
        raise ConfigError(messages.STARTUP_MISSING.format(name="SLACK_BOT_TOKEN", hint=messages.HINT_BOT_TOKEN))
    if not _BOT_TOKEN.match(bot_token):
        raise ConfigError(messages.STARTUP_MALFORMED.format(
            name="SLACK_BOT_TOKEN", reason=_why_malformed(bot_token, "xoxb-"),
            hint=messages.HINT_BOT_TOKEN))
    app_token = settings.slack_app_token
    mode = HTTP_MODE if http or not app_token else SOCKET_MODE
    if mode == SOCKET_MODE and app_token and not _APP_TOKEN.match(app_token):
        raise ConfigError(messages.STARTUP_MALFORMED.format(
            name="SLACK_APP_TOKEN", reason=_why_malformed(app_token, "xapp-"),
            hint=messages.HINT_APP_TOKEN))
    secret = settings.slack_signing_secret
    if mode == HTTP_MODE:
        _check_signing_secret(secret)
    return SlackConfig(mode=mode, bot_token=bot_token, app_token=app_token if mode == SOCKET_MODE else None,
                       signing_secret=secret)


def _check_signing_secret(secret: str | None) -> None:
    if not secret:
        raise ConfigError(messages.STARTUP_MISSING.format(
            name="SLACK_SIGNING_SECRET", hint=messages.HINT_SIGNING_SECRET))
    if not _SIGNING_SECRET.match(secret):
        raise ConfigError(messages.STARTUP_MALFORMED.format(
            name="SLACK_SIGNING_SECRET", reason="it should be the 32-character secret of letters and digits",
            hint=messages.HINT_SIGNING_SECRET))


def check_distribution_settings(settings: SlackSettings, *, http: bool = False) -> SlackConfig:
    """Distribution mode's settings: the app's client id and secret, the
    signing secret (it is served over HTTP only), the keys that seal the
    stored tokens, and neither a bot token (token mode) nor, unless
    ``--http``, an app-level token (Socket Mode stays token mode)."""
    if settings.slack_bot_token:
        raise ConfigError(messages.STARTUP_CONFLICT.format(
            one="SLACK_BOT_TOKEN", other="SLACK_CLIENT_ID/SLACK_CLIENT_SECRET", hint=messages.HINT_ONE_MODE))
    if settings.slack_app_token and not http:
        raise ConfigError(messages.STARTUP_CONFLICT.format(
            one="SLACK_APP_TOKEN", other="SLACK_CLIENT_ID/SLACK_CLIENT_SECRET", hint=messages.HINT_SOCKET_TOKEN_MODE))
    for name, value, pattern, shape in (
            ("SLACK_CLIENT_ID", settings.slack_client_id, _CLIENT_ID, "two numbers joined by a dot"),
            ("SLACK_CLIENT_SECRET", settings.slack_client_secret, _CLIENT_SECRET, "a secret of letters and digits")):
        if not value:
            raise ConfigError(messages.STARTUP_MISSING.format(name=name, hint=messages.HINT_CLIENT))
        if not pattern.match(value):
            raise ConfigError(messages.STARTUP_MALFORMED.format(name=name, reason=f"it should be {shape}",
                                                                hint=messages.HINT_CLIENT))
    _check_signing_secret(settings.slack_signing_secret)
    if not settings.faq_token_keys:
        raise ConfigError(messages.STARTUP_MISSING.format(name="FAQ_TOKEN_KEYS", hint=messages.HINT_TOKEN_KEYS))
    problem = keys_problem(settings.faq_token_keys)
    if problem:
        raise ConfigError(messages.STARTUP_MALFORMED.format(name="FAQ_TOKEN_KEYS", reason=problem,
                                                            hint=messages.HINT_TOKEN_KEYS))
    return SlackConfig(mode=HTTP_MODE, bot_token=None, app_token=None, signing_secret=settings.slack_signing_secret,
                       distribution=True)
