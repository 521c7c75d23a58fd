"""Talking to Slack: the Web API client, posting replies, and ``response_url``.

Every call goes to ``SLACK_API_URL`` (Slack, GovSlack, a proxy or a test
stand-in) and is retried after ``Retry-After`` when Slack answers 429, and
after a dropped connection. A reply whose blocks Slack refuses is sent again
as its plain-text fallback, so a person never goes without an answer because
of a layout problem; the refusal is logged.
"""

from __future__ import annotations

import logging
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
