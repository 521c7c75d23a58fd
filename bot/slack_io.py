"""Talking to Slack: the Web API client, posting replies, and ``response_url``.

Every call goes to ``SLACK_API_URL`` (Slack, GovSlack, a proxy or a test
stand-in) and is retried after ``Retry-After`` when Slack answers 429, and
after a dropped connection. A reply whose blocks Slack refuses is sent again
as its plain-text fallback, so a person never goes without an answer because
of a layout problem; the refusal is logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.webhook import WebhookClient

from bot.blocks import Reply

log = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 3
WEB_TIMEOUT = 15
_BLOCK_ERRORS = {"invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long"}


class SlackReplyError(RuntimeError):
    """A reply could not be delivered (message names the Slack error, never a token)."""


def retry_handlers() -> list[RetryHandler]:
    """429 ``Retry-After`` and connection-error retries for every Slack call."""
    return [RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES), ConnectionErrorRetryHandler()]


def api_base_url(url: str) -> str:
    """``SLACK_API_URL`` with the trailing slash ``WebClient`` expects."""
    return url if url.endswith("/") else url + "/"


def make_web_client(token: str, api_url: str) -> WebClient:
    """The bot's Web API client, pointed at ``api_url``."""
    return WebClient(token=token, base_url=api_base_url(api_url), timeout=WEB_TIMEOUT,
                     retry_handlers=retry_handlers())


class UserNames:
    """People's display names by user id, for questions that mention them.

    Slack sends a mention as ``<@U0123ABCD>`` without the name, so the bot
    asks ``users.info`` (scope ``users:read``) and keeps the answer for an
    hour, a bounded number of users. Any failure leaves the id (``@U0123ABCD``)
    in the question: a missing scope is logged once, with what to do.
    """

    def __init__(self, client: WebClient, *, ttl: float = 3600.0, max_users: int = 5000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._ttl = ttl
        self._max_users = max_users
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, str | None]] = OrderedDict()
        self._lock = threading.Lock()
        self._warned = False

    def __call__(self, user_id: str) -> str | None:
        """The display name of ``user_id`` (else the real name, else the
        user name); None when Slack cannot say."""
        now = self._clock()
        with self._lock:
            cached = self._cache.get(user_id)
            if cached is not None and now - cached[0] < self._ttl:
                self._cache.move_to_end(user_id)
                return cached[1]
        try:
            user = self._client.users_info(user=user_id).get("user") or {}
        except SlackApiError as error:
            code = _code(error)
            if code == "missing_scope" and not self._warned:
                self._warned = True
                log.warning("users.info needs the users:read scope, so mentions of people are shown as their "
                            "user ids: add the scope (it is in manifest.yml) and reinstall the app")
            name = None
        except OSError as error:  # Slack unreachable: try again next time
            log.info("users.info for %s failed: %s", user_id, error)
            return None
        else:
            profile = user.get("profile") or {}
            name = profile.get("display_name") or profile.get("real_name") or user.get("name") or None
        with self._lock:
            self._cache[user_id] = (now, name)
            self._cache.move_to_end(user_id)
            while len(self._cache) > self._max_users:
                self._cache.popitem(last=False)
        return name


def post_message(client: WebClient, channel: str, reply: Reply, *, thread_ts: str | None = None) -> str | None:
    """Post ``reply`` to ``channel`` (in ``thread_ts``'s thread); returns the message ts."""
    kwargs: dict[str, Any] = {"channel": channel, "thread_ts": thread_ts, "unfurl_links": False}
    try:
        return _ts(client.chat_postMessage(**kwargs, **reply.as_kwargs()).data)
    except SlackApiError as error:
        code = _code(error)
        if code not in _BLOCK_ERRORS:
            raise SlackReplyError(f"chat.postMessage to {channel} failed: {code}") from None
        log.warning("Slack refused the reply's blocks (%s); sending the plain text instead", code)
        try:
            return _ts(client.chat_postMessage(**kwargs, text=reply.text).data)
        except SlackApiError as again:
            raise SlackReplyError(f"chat.postMessage to {channel} failed: {_code(again)}") from None


def update_message(client: WebClient, channel: str, ts: str, reply: Reply) -> None:
    """Replace the message ``ts`` in ``channel`` with ``reply``."""
    try:
        client.chat_update(channel=channel, ts=ts, **reply.as_kwargs())
    except SlackApiError as error:
        raise SlackReplyError(f"chat.update of {channel}/{ts} failed: {_code(error)}") from None


def respond(response_url: str, reply: Reply, *, response_type: str = "ephemeral",
            replace_original: bool = False, delete_original: bool = False) -> None:
    """Post ``reply`` to a ``response_url`` (slash commands, buttons)."""
    payload: dict[str, Any] = {"response_type": response_type, **reply.as_kwargs()}
    if replace_original:
        payload["replace_original"] = True
    if delete_original:
        payload = {"delete_original": True}
    webhook = WebhookClient(url=response_url, timeout=WEB_TIMEOUT, retry_handlers=retry_handlers())
    response = webhook.send_dict(payload)
    if response.status_code != 200:
        raise SlackReplyError(f"response_url post failed: HTTP {response.status_code} {response.body[:100]}")


def _ts(data: Any) -> str | None:
    return data.get("ts") if isinstance(data, dict) else None


def _code(error: SlackApiError) -> str:
    data = getattr(error.response, "data", None)
    return str(data.get("error")) if isinstance(data, dict) else str(getattr(error.response, "status_code", "?"))
