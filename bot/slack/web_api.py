"""Talking to Slack: the Web API client, posting replies, and ``response_url``.

Every call goes to ``SLACK_API_URL`` (Slack, GovSlack, a proxy or a test
stand-in) and is retried after ``Retry-After`` when Slack answers 429 (Slack
did nothing then, so a retry is safe). A reply whose blocks Slack refuses is
sent again as its plain-text fallback, so a person never goes without an
answer because of a layout problem; the refusal is logged.

Posting a reply is not idempotent: a timeout, a dropped connection or a 5xx
may come after Slack posted it. So each reply carries message ``metadata``
naming the question's intake key, and before any second try (after such an
error, or when a row is worked again after a crash) :func:`post_reply` looks
for a message with that key in the thread (``conversations.replies``) or the
channel (``conversations.history``) and posts only if there is none. Retries
back off (0.5 s doubling to 8 s) within :data:`DELIVERY_BUDGET_SECONDS`.
Updates and ``response_url`` posts are retried the same way but without a
look: an update is idempotent, and a ``response_url`` cannot be read back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.webhook import WebhookClient

from bot.slack.blocks import Reply
from faq_core.observers import tell_each
from faq_core.retry import Attempt, Backoff, retry

log = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 3
WEB_TIMEOUT = 15
DELIVERY_BUDGET_SECONDS = 60.0
BACKOFF = Backoff(first=0.5, cap=8.0)
# The metadata event type that marks a message as this bot's reply to one question.
REPLY_EVENT_TYPE = "faq_bot_reply"
_BLOCK_ERRORS = {"invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long"}
_T = TypeVar("_T")


class SlackReplyError(RuntimeError):
    """A reply could not be delivered (message names the Slack error, never a token).
    ``transient`` says whether trying again later may succeed."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def retry_handlers() -> list[RetryHandler]:
    """429 ``Retry-After`` retries for every Slack call (other failures are
    retried by :func:`with_retries`, which knows whether a retry is safe)."""
    return [RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)]


def is_transient(error: BaseException) -> bool:
    """A failure worth another try: a timeout, a connection error or a 5xx."""
    if isinstance(error, SlackApiError):
        return int(getattr(error.response, "status_code", 0) or 0) >= 500
    if isinstance(error, SlackReplyError):
        return error.transient
    return isinstance(error, OSError | URLError)


def with_retries(call: Callable[[], _T], what: str, *, budget: float = DELIVERY_BUDGET_SECONDS,
                 before_retry: Callable[[], _T | None] | None = None) -> _T:
    """``call()``, tried again after transient failures with a growing pause,
    within ``budget`` seconds (:func:`faq_core.retry.retry`). ``before_retry``
    runs before each retry; when it returns something, that is the outcome
    (the first try did take effect)."""
    def attempt(attempt: Attempt) -> _T:
        if attempt.number > 1 and before_retry is not None:
            found = _looked(before_retry, what)
            if found is not None:
                return found
        return call()

    def give_up(error: BaseException, _attempts: int) -> SlackReplyError:
        return SlackReplyError(f"{what} failed: {_describe(error)} (gave up retrying for now)", transient=True)

    def on_retry(error: BaseException, _attempt: int, pause: float) -> None:
        log.warning("%s failed (%s); trying again in %.1f s", what, _describe(error), pause)

    return retry(attempt, retryable=is_transient, give_up=give_up, backoff=BACKOFF, budget=budget, on_retry=on_retry)


def _looked(look: Callable[[], _T | None], what: str) -> _T | None:
    try:
        return look()
    except Exception as error:  # cannot tell: the retry's own look will tell (or the budget runs out)
        raise SlackReplyError(f"{what}: could not check for an earlier reply ({_describe(error)})",
                              transient=True) from None


def _describe(error: BaseException) -> str:
    if isinstance(error, SlackApiError):
        return f"HTTP {getattr(error.response, 'status_code', '?')} {_code(error)}"
    return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}".rstrip(": ")


def api_base_url(url: str) -> str:
    """``SLACK_API_URL`` with the trailing slash ``WebClient`` expects."""
    return url if url.endswith("/") else url + "/"


class ObservedWebClient(WebClient):
    """slack_sdk's ``WebClient`` that tells ``error_observers`` the kind of
    every failed call (Slack's error code such as ``ratelimited``, else the
    exception's type), after slack_sdk's own retries: for metrics."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.error_observers: list[Callable[[str], None]] = []

    def api_call(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().api_call(*args, **kwargs)
        except SlackApiError as error:
            self._tell(_code(error) or f"http_{getattr(error.response, 'status_code', '?')}")
            raise
        except Exception as error:
            self._tell(type(error).__name__)
            raise

    def _tell(self, kind: str) -> None:
        tell_each(self.error_observers, kind, log=log, what="a Web API error observer")


def make_web_client(token: str, api_url: str, *, timeout: int = WEB_TIMEOUT) -> ObservedWebClient:
    """The bot's Web API client, pointed at ``api_url``."""
    return ObservedWebClient(token=token, base_url=api_base_url(api_url), timeout=timeout,
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


def reply_metadata(key: str) -> dict[str, Any]:
    """The message metadata that names the question a reply answers."""
    return {"event_type": REPLY_EVENT_TYPE, "event_payload": {"key": key}}


def find_reply(client: WebClient, channel: str, key: str, *, thread_ts: str | None = None,
               oldest: str | None = None) -> str | None:
    """The ts of this bot's reply to ``key`` already in the thread (or in the
    channel since ``oldest``), or None. Needs the ``*:history`` scopes."""
    if thread_ts:
        data = client.conversations_replies(channel=channel, ts=thread_ts, include_all_metadata=True,
                                            limit=200).data
    else:
        data = client.conversations_history(channel=channel, oldest=oldest or "0", include_all_metadata=True,
                                            limit=200).data
    messages = data.get("messages", []) if isinstance(data, dict) else []
    for message in messages:
        metadata = message.get("metadata") or {}
        if (metadata.get("event_type") == REPLY_EVENT_TYPE
                and (metadata.get("event_payload") or {}).get("key") == key):
            return str(message.get("ts"))
    return None


def post_reply(client: WebClient, channel: str, reply: Reply, *, key: str, thread_ts: str | None = None,
               oldest: str | None = None, look_first: bool = False,
               budget: float = DELIVERY_BUDGET_SECONDS) -> str | None:
    """Post ``reply`` to the question ``key`` exactly once: tagged with its key,
    retried after transient failures, and never posted when a look finds it
    already there. ``look_first``: look before the first try too (the row is
    being worked again, so an earlier try may have posted)."""
    what = f"chat.postMessage to {channel}"

    def look() -> str | None:
        found = find_reply(client, channel, key, thread_ts=thread_ts, oldest=oldest)
        if found:
            log.info("the reply to %s was already posted (%s); not posting it again", key, found)
        return found

    if look_first:
        found = _looked(look, what)
        if found:
            return found
    return with_retries(lambda: post_message(client, channel, reply, thread_ts=thread_ts, key=key), what,
                        budget=budget, before_retry=look)


def post_message(client: WebClient, channel: str, reply: Reply, *, thread_ts: str | None = None,
                 key: str | None = None) -> str | None:
    """Post ``reply`` to ``channel`` (in ``thread_ts``'s thread) once, tagged
    with ``key``; returns the message ts. Transport errors propagate."""
    kwargs: dict[str, Any] = {"channel": channel, "thread_ts": thread_ts, "unfurl_links": False}
    if key is not None:
        kwargs["metadata"] = reply_metadata(key)
    try:
        return _ts(client.chat_postMessage(**kwargs, **reply.as_kwargs()).data)
    except SlackApiError as error:
        code = _code(error)
        if is_transient(error):
            raise
        if code not in _BLOCK_ERRORS:
            raise SlackReplyError(f"chat.postMessage to {channel} failed: {code}") from None
        log.warning("Slack refused the reply's blocks (%s); sending the plain text instead", code)
        try:
            return _ts(client.chat_postMessage(**kwargs, text=reply.text).data)
        except SlackApiError as again:
            if is_transient(again):
                raise
            raise SlackReplyError(f"chat.postMessage to {channel} failed: {_code(again)}") from None


def update_message(client: WebClient, channel: str, ts: str, reply: Reply) -> None:
    """Replace the message ``ts`` in ``channel`` with ``reply`` (retried: an update is idempotent)."""
    def call() -> None:
        try:
            client.chat_update(channel=channel, ts=ts, **reply.as_kwargs())
        except SlackApiError as error:
            if is_transient(error):
                raise
            raise SlackReplyError(f"chat.update of {channel}/{ts} failed: {_code(error)}") from None

    with_retries(call, f"chat.update of {channel}/{ts}")


def respond(response_url: str, reply: Reply, *, response_type: str = "ephemeral",
            replace_original: bool = False, delete_original: bool = False) -> None:
    """Post ``reply`` to a ``response_url`` (slash commands, buttons)."""
    payload: dict[str, Any] = {"response_type": response_type, **reply.as_kwargs()}
    if replace_original:
        payload["replace_original"] = True
    if delete_original:
        payload = {"delete_original": True}
    webhook = WebhookClient(url=response_url, timeout=WEB_TIMEOUT, retry_handlers=retry_handlers())

    def call() -> None:
        try:
            response = webhook.send_dict(payload)
        except TimeoutError:  # Slack may have shown it: a retry could show it twice
            raise SlackReplyError("response_url post timed out") from None
        if response.status_code != 200:
            raise SlackReplyError(f"response_url post failed: HTTP {response.status_code} {response.body[:100]}",
                                  transient=response.status_code >= 500)

    with_retries(call, "response_url post")


def _ts(data: Any) -> str | None:
    return data.get("ts") if isinstance(data, dict) else None


def _code(error: SlackApiError) -> str:
    data = getattr(error.response, "data", None)
    return str(data.get("error")) if isinstance(data, dict) else str(getattr(error.response, "status_code", "?"))
