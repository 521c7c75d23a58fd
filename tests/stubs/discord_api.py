"""A local stand-in for Discord's REST API (v10), for the real discord.py client.

It serves ``http://127.0.0.1:<free port>/api/v10`` (:attr:`DiscordAPIStub.base_url`)
and answers the routes a FAQ bot uses the way Discord does:

- ``GET /gateway/bot`` (the URL of the Gateway stand-in), ``GET /gateway``,
  ``GET /users/@me``, ``GET /oauth2/applications/@me`` (``commands.Bot`` asks it
  at login), ``POST /users/@me/channels`` (open a DM);
- ``PUT /applications/{app}/commands`` and ``.../guilds/{guild}/commands``
  (bulk overwrite; names and descriptions checked, ids and versions assigned);
- ``POST /interactions/{id}/{token}/callback``: types 4 (message), 5 (deferred),
  6 (deferred update) and 7 (update) for commands and buttons, 8 (autocomplete
  result) for autocomplete only; a second callback is ``40060 Interaction has
  already been acknowledged``, one later than :attr:`callback_ttl` (3 s) is
  ``404 10062 Unknown interaction``;
- follow-ups on the interaction's webhook: ``POST /webhooks/{app}/{token}``,
  ``GET``/``PATCH``/``DELETE .../messages/@original`` and ``.../messages/{id}``,
  accepted only after a callback and until :attr:`token_ttl` (15 min) passes
  (``404 10015 Unknown Webhook`` afterwards);
- ``POST /channels/{id}/messages`` (a ``message_reference`` must name a message
  the stand-in knows in that channel) and ``PATCH``/``DELETE .../messages/{id}``,
  in the channels it knows (:attr:`DiscordAPIStub.channels`; elsewhere
  ``404 10003 Unknown Channel``, and ``403 50001 Missing Access`` in those
  :meth:`DiscordAPIStub.deny` made unreachable for the bot).

Authentication: every route except ``GET /gateway``, interaction callbacks and
webhook routes (which Discord authenticates by their token in the path) needs
``Authorization: Bot <token>``; otherwise ``401 {"message": "401: Unauthorized",
"code": 0}``. Message payloads are validated like Discord: at most 2,000
characters of content, 10 embeds and 6,000 characters across them, 5 action
rows of at most 5 components, 25 autocomplete choices; a violation is
``400 {"message": "Invalid Form Body", "code": 50035, "errors": {...}}``.
Every response carries the rate-limit headers; :meth:`DiscordAPIStub.rate_limit`
makes the next matching requests ``429`` with ``retry_after`` (and ``Via``, which
discord.py requires to trust a 429 as Discord's rather than Cloudflare's).

Every request is recorded (:attr:`DiscordAPIStub.calls`) *before* the answer is
sent, so a test that saw the client act also sees the call; tests block on
:meth:`DiscordAPIStub.wait_for` (a condition variable with a deadline, no polling).

**Pointing discord.py at it.** discord.py builds every REST URL, including the
interaction and webhook ones, from ``discord.http.Route.BASE``, and its plain
``Client`` opens ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` (it only
asks ``GET /gateway/bot`` when sharded). :func:`tests.stubs.discord_standin.use_api`
sets ``Route.BASE`` to the API URL (what a ``DISCORD_API_URL`` setting will
hold) and a client's ``setup_hook`` then calls
:func:`tests.stubs.discord_standin.adopt_gateway`, which asks ``GET /gateway/bot``
through discord.py's own HTTP client and sets ``DEFAULT_GATEWAY`` from the answer.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl

from tests.stubs import discord_payloads as P
from tests.stubs.loopback import LoopbackHTTPService, StubRequestHandler

API_PREFIX = "/api/v10"
CALLBACK_TTL = 3.0
TOKEN_TTL = 15 * 60.0
CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_CHARS_MAX = 6000
ACTION_ROWS_MAX = 5
ROW_COMPONENTS_MAX = 5
CHOICES_MAX = 25
_COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")
_RATE_LIMIT = 50


@dataclass
class DiscordCall:
    """One request the stand-in received, and what it answered."""

    method: str
    route: str  # the path after /api/v10, e.g. "/channels/123/messages"
    body: Any
    headers: dict[str, str]
    query: dict[str, str]
    status: int = 200
    response: Any = None
    at: float = field(default_factory=time.perf_counter)


@dataclass
class Interaction:
    """What the stand-in knows of one interaction it handed to the client."""

    id: str
    token: str
    kind: int  # 2 command, 3 component, 4 autocomplete
    channel_id: str
    message_id: str | None = None  # for a component interaction: the message whose button was clicked
    issued: float = field(default_factory=time.monotonic)
    answered: int | None = None  # the callback type, once answered
    original: dict[str, Any] | None = None
    followups: dict[str, dict[str, Any]] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        """The ``interaction_metadata`` of its response messages, with the fields discord.py reads."""
        return {"id": self.id, "type": self.kind, "user": P.user(),
                "authorizing_integration_owners": {"0": P.GUILD_ID}}


@dataclass
class _RateLimit:
    pattern: re.Pattern[str]
    retry_after: float
    remaining: int
    is_global: bool


def form_error(where: str, code: str, message: str) -> dict[str, Any]:
    """Discord's ``50035 Invalid Form Body`` with one error at the dotted path ``where``."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(where.split(".")):
        errors = {part: errors}
    return {"message": "Invalid Form Body", "code": 50035, "errors": errors}


def _embed_chars(embed: dict[str, Any]) -> int:
    total = len(str(embed.get("title") or "")) + len(str(embed.get("description") or ""))
    total += len(str((embed.get("footer") or {}).get("text") or ""))
    total += len(str((embed.get("author") or {}).get("name") or ""))
    for item in embed.get("fields") or []:
        total += len(str(item.get("name") or "")) + len(str(item.get("value") or ""))
    return total


def message_errors(body: Any, *, require_content: bool = True) -> dict[str, Any] | None:
    """Discord's 400 body for a message payload over its limits, or None if it is acceptable."""
    if not isinstance(body, dict):
        return {"message": "Invalid Form Body", "code": 50035, "errors": {}}
    content = body.get("content")
    if content is not None and len(str(content)) > CONTENT_MAX:
        return form_error("content", "BASE_TYPE_MAX_LENGTH", f"Must be {CONTENT_MAX} or fewer in length.")
    embeds = body.get("embeds") or []
    if len(embeds) > EMBEDS_MAX:
        return form_error("embeds", "BASE_TYPE_MAX_LENGTH", f"Must be {EMBEDS_MAX} or fewer in length.")
    if sum(_embed_chars(e) for e in embeds) > EMBED_CHARS_MAX:
        return form_error("embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
    rows = body.get("components") or []
    if len(rows) > ACTION_ROWS_MAX:
        return form_error("components", "BASE_TYPE_MAX_LENGTH", f"Must be {ACTION_ROWS_MAX} or fewer in length.")
    for i, row in enumerate(rows):
        if len(row.get("components") or []) > ROW_COMPONENTS_MAX:
            return form_error(f"components.{i}.components", "BASE_TYPE_MAX_LENGTH",
                              f"Must be {ROW_COMPONENTS_MAX} or fewer in length.")
        for j, component in enumerate(row.get("components") or []):
            for key, most in (("label", 80), ("custom_id", 100)):
                if len(str(component.get(key) or "")) > most:
                    return form_error(f"components.{i}.components.{j}.{key}", "BASE_TYPE_MAX_LENGTH",
                                      f"Must be {most} or fewer in length.")
    for i, embed in enumerate(embeds):
        fields = [("title", embed.get("title"), 256), ("description", embed.get("description"), 4096),
                  ("footer.text", (embed.get("footer") or {}).get("text"), 2048)]
        fields += [(f"fields.{j}.value", f.get("value"), 1024) for j, f in enumerate(embed.get("fields") or [])]
        fields += [(f"fields.{j}.name", f.get("name"), 256) for j, f in enumerate(embed.get("fields") or [])]
        for key, text, most in fields:
            if text is not None and len(str(text)) > most:
                return form_error(f"embeds.{i}.{key}", "BASE_TYPE_MAX_LENGTH", f"Must be {most} or fewer in length.")
    if require_content and not (content or embeds or rows or body.get("sticker_ids") or body.get("poll")):
        return {"message": "Cannot send an empty message", "code": 50006}
    return None


def command_errors(commands: Any) -> dict[str, Any] | None:
    """Discord's 400 body for a bulk command overwrite it would refuse, or None."""
    if not isinstance(commands, list):
        return {"message": "Invalid Form Body", "code": 50035, "errors": {}}
    for i, command in enumerate(commands):
        if not isinstance(command, dict):
            return form_error(str(i), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        name = str(command.get("name") or "")
        if not _COMMAND_NAME.match(name) or name != name.lower():
            return form_error(f"{i}.name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        if command.get("type", 1) == 1 and not 1 <= len(str(command.get("description") or "")) <= 100:
            return form_error(f"{i}.description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        for j, option in enumerate(command.get("options") or []):
            if not 1 <= len(str(option.get("description") or "")) <= 100:
                return form_error(f"{i}.options.{j}.description", "BASE_TYPE_BAD_LENGTH",
                                  "Must be between 1 and 100 in length.")
            if len(option.get("choices") or []) > CHOICES_MAX:
                return form_error(f"{i}.options.{j}.choices", "BASE_TYPE_MAX_LENGTH",
                                  f"Must be {CHOICES_MAX} or fewer in length.")
    return None


_UNKNOWN_INTERACTION = {"message": "Unknown interaction", "code": 10062}
_UNKNOWN_WEBHOOK = {"message": "Unknown Webhook", "code": 10015}
_UNKNOWN_MESSAGE = {"message": "Unknown Message", "code": 10008}
_UNKNOWN_CHANNEL = {"message": "Unknown Channel", "code": 10003}
_MISSING_ACCESS = {"message": "Missing Access", "code": 50001}
_UNAUTHORIZED = {"message": "401: Unauthorized", "code": 0}
_Reply = tuple[int, Any]


class DiscordAPIStub(LoopbackHTTPService):
    """Discord's REST API on a free loopback port; use as a context manager."""

    def __init__(self, bot_token: str = P.BOT_TOKEN) -> None:
        self.bot_token = bot_token
        self.gateway_url = ""  # set by the Gateway stand-in (see discord_standin.DiscordStandIn)
        self.callback_ttl = CALLBACK_TTL
        self.token_ttl = TOKEN_TTL
        self.calls: list[DiscordCall] = []
        self.commands: dict[str | None, list[dict[str, Any]]] = {}  # guild id (None: global) -> commands
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel id, message id) -> message
        self.interactions: dict[str, Interaction] = {}  # token -> interaction
        self.channels: set[str] = {P.CHANNEL_ID, P.DM_CHANNEL_ID, P.HANDOFF_CHANNEL_ID}
        self.denied: set[str] = set()  # channels the bot may not see or post in
        self.not_yet: dict[tuple[str, str], int] = {}  # message -> GETs still answered 404 (a forum starter)
        self._limits: list[_RateLimit] = []
        self._changed = threading.Condition()
        super().__init__(self._handler_class())

    # -- addresses and set-up --------------------------------------------------------
    @property
    def base_url(self) -> str:
        """What ``DISCORD_API_URL`` / ``discord.http.Route.BASE`` should be."""
        return f"{self.origin}{API_PREFIX}"

    def issue(self, interaction: dict[str, Any]) -> Interaction:
        """Register an INTERACTION_CREATE payload about to be dispatched, so its
        callback and webhook routes accept its token (and its clock starts)."""
        record = Interaction(id=str(interaction["id"]), token=str(interaction["token"]),
                             kind=int(interaction["type"]), channel_id=str(interaction.get("channel_id", "")),
                             message_id=str(interaction["message"]["id"]) if "message" in interaction else None)
        with self._changed:
            self.interactions[record.token] = record
        return record

    def remember(self, message: dict[str, Any]) -> None:
        """Make a message (say one dispatched in MESSAGE_CREATE) known, so replies may reference it."""
        with self._changed:
            self.messages[(str(message["channel_id"]), str(message["id"]))] = message

    def add_forum_post(self, thread: dict[str, Any], starter: dict[str, Any], *, missing_for: int = 0) -> None:
        """Know a forum post: its thread (a channel) and starter message, which the
        first ``missing_for`` GETs answer ``404 10008 Unknown Message``, as Discord
        can when the starter is fetched right after THREAD_CREATE."""
        with self._changed:
            self.channels.add(str(thread["id"]))
            key = (str(starter["channel_id"]), str(starter["id"]))
            self.messages[key] = starter
            if missing_for:
                self.not_yet[key] = missing_for

    def deny(self, channel_id: str) -> None:
        """Take the bot's access to a channel away (Discord answers 403 Missing Access)."""
        with self._changed:
            self.denied.add(channel_id)

    def rate_limit(self, route: str, *, retry_after: float = 0.25, times: int = 1, is_global: bool = False) -> None:
        """Answer the next ``times`` requests whose ``"METHOD /route"`` matches the regex
        ``route`` with 429 and ``retry_after`` seconds, as Discord does."""
        with self._changed:
            self._limits.append(_RateLimit(re.compile(route), retry_after, times, is_global))

    # -- inspection ----------------------------------------------------------------
    def calls_to(self, method: str, route: str) -> list[DiscordCall]:
        """Recorded calls with this HTTP method whose route matches the regex ``route``, in order."""
        pattern = re.compile(route)
        with self._changed:
            return [c for c in self.calls if c.method == method and pattern.fullmatch(c.route)]

    def wait_for(self, predicate: Callable[[list[DiscordCall]], bool], timeout: float = 10.0) -> list[DiscordCall]:
        """Block until ``predicate(calls)`` holds; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.calls):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    summary = [(c.method, c.route, c.status) for c in self.calls]
                    raise AssertionError(f"timed out waiting for Discord calls; got {summary}")
                self._changed.wait(remaining)
            return list(self.calls)

    def wait_calls(self, method: str, route: str, *, count: int = 1, timeout: float = 10.0) -> list[DiscordCall]:
        """Block until ``count`` calls of ``method`` on a route matching ``route`` arrived; returns them."""
        pattern = re.compile(route)
        self.wait_for(lambda calls: sum(c.method == method and bool(pattern.fullmatch(c.route))
                                        for c in calls) >= count, timeout)
        return self.calls_to(method, route)

    # -- protocol ------------------------------------------------------------------
    def _limited(self, method: str, route: str) -> _RateLimit | None:
        with self._changed:
            for limit in self._limits:
                if limit.remaining > 0 and limit.pattern.fullmatch(f"{method} {route}"):
                    limit.remaining -= 1
                    return limit
        return None

    def _answer(self, method: str, route: str, body: Any, headers: dict[str, str]) -> _Reply:
        parts = route.strip("/").split("/")
        if parts[:1] == ["interactions"] and len(parts) == 4 and parts[3] == "callback":
            return self._callback(parts[1], parts[2], body)
        if parts[:1] == ["webhooks"] and len(parts) >= 3:
            return self._webhook(method, parts[1], parts[2], parts[3:], body)
        if method == "GET" and route == "/gateway":  # the one route Discord serves without a token
            return 200, {"url": self.gateway_url}
        if headers.get("authorization") != f"Bot {self.bot_token}":
            return 401, _UNAUTHORIZED
        if method == "GET" and route == "/gateway/bot":
            return 200, {"url": self.gateway_url, "shards": 1, "session_start_limit": {
                "total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}}
        if method == "GET" and route == "/users/@me":
            return 200, P.bot_user()
        if method == "GET" and route in ("/oauth2/applications/@me", "/applications/@me"):
            return 200, P.application()
        if method == "POST" and route == "/users/@me/channels":
            if not isinstance(body, dict) or not body.get("recipient_id"):
                return 400, form_error("recipient_id", "BASE_TYPE_REQUIRED", "This field is required")
            return 200, P.dm_channel(recipient=P.user(str(body["recipient_id"])))
        if method == "PUT" and parts[:1] == ["applications"] and parts[-1] == "commands":
            return self._sync_commands(parts, body)
        if parts[:1] == ["channels"] and len(parts) >= 3 and parts[2] == "messages":
            return self._channel_message(method, parts[1], parts[3:], body)
        return 404, {"message": "404: Not Found", "code": 0}

    def _sync_commands(self, parts: list[str], body: Any) -> _Reply:
        if parts[1] != P.APPLICATION_ID:
            return 403, {"message": "Missing Access", "code": 50001}
        guild_id = parts[3] if len(parts) == 5 and parts[2] == "guilds" else None
        errors = command_errors(body)
        if errors:
            return 400, errors
        with self._changed:
            known = {c["name"]: c for c in self.commands.get(guild_id, [])}
            stored = []
            for command in body:
                previous = known.get(command["name"], {})
                stored.append({"type": 1, "options": [], "default_member_permissions": None, "nsfw": False,
                               "contexts": None, "integration_types": [0], **command,
                               "id": previous.get("id") or P.snowflake(), "application_id": P.APPLICATION_ID,
                               "version": P.snowflake(), **({"guild_id": guild_id} if guild_id else {})})
            self.commands[guild_id] = stored
        return 200, stored

    def _channel_message(self, method: str, channel_id: str, rest: list[str], body: Any) -> _Reply:
        with self._changed:
            if channel_id not in self.channels:
                return 404, _UNKNOWN_CHANNEL
            if channel_id in self.denied:
                return 403, _MISSING_ACCESS
        if method == "POST" and not rest:
            errors = message_errors(body)
            if errors:
                return 400, errors
            reference = body.get("message_reference")
            if reference:
                ref_channel = str(reference.get("channel_id") or channel_id)
                if ref_channel != channel_id or (ref_channel, str(reference.get("message_id"))) not in self.messages:
                    return 400, form_error("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                                           "Unknown message")
            nonce = body.get("nonce")
            if nonce is not None and body.get("enforce_nonce"):
                if not isinstance(nonce, str | int) or len(str(nonce)) > 25:
                    return 400, form_error("nonce", "BASE_TYPE_BAD_LENGTH", "Must be 25 or fewer in length.")
                with self._changed:  # the same nonce again (within minutes): Discord returns the first message
                    for (known_channel, _), known in self.messages.items():
                        if known_channel == channel_id and known.get("nonce") == str(nonce):
                            return 200, known
            created = self._new_message(body, channel_id)
            if nonce is not None:
                created["nonce"] = str(nonce)
            self.remember(created)
            return 200, created
        if len(rest) != 1:
            return 404, {"message": "404: Not Found", "code": 0}
        key = (channel_id, rest[0])
        with self._changed:
            existing = self.messages.get(key)
            if existing is None:
                return 404, _UNKNOWN_MESSAGE
            if method == "GET" and self.not_yet.get(key):
                self.not_yet[key] -= 1
                return 404, _UNKNOWN_MESSAGE
            if method == "DELETE":
                del self.messages[key]
                return 204, None
            if method == "GET":
                return 200, existing
        if method == "PATCH":
            return self._edit(existing, body)
        return 405, {"message": "405: Method Not Allowed", "code": 0}

    def _new_message(self, body: dict[str, Any], channel_id: str, **extra: Any) -> dict[str, Any]:
        author = P.bot_user()
        guild_id = P.GUILD_ID if channel_id == P.CHANNEL_ID else None
        created = P.message(str(body.get("content") or ""), channel_id=channel_id, author=author,
                            guild_id=guild_id, **extra)
        created.update({k: body[k] for k in ("embeds", "components", "tts") if k in body})
        created["flags"] = int(body.get("flags") or 0)
        reference = body.get("message_reference")
        if reference:
            ref_key = (str(reference.get("channel_id") or channel_id), str(reference.get("message_id")))
            created["message_reference"] = {"type": 0, "message_id": ref_key[1], "channel_id": ref_key[0],
                                            **({"guild_id": guild_id} if guild_id else {})}
            created["referenced_message"] = self.messages.get(ref_key)
            created["type"] = 19  # REPLY
        return created

    def _find_message(self, message_id: str | None) -> dict[str, Any] | None:
        """A message the stand-in holds, in a channel or as an interaction's response (lock held)."""
        for (_, known_id), known in self.messages.items():
            if known_id == message_id:
                return known
        for record in self.interactions.values():
            if record.original is not None and record.original["id"] == message_id:
                return record.original
            if message_id in record.followups:
                return record.followups[message_id]
        return None

    def _edit(self, existing: dict[str, Any], body: Any) -> _Reply:
        errors = message_errors(body, require_content=False)
        if errors:
            return 400, errors
        with self._changed:
            existing.update({k: body[k] for k in ("content", "embeds", "components", "flags") if k in body})
            existing["edited_timestamp"] = "2026-11-28T12:00:01.000000+00:00"
            return 200, dict(existing)

    def _callback(self, interaction_id: str, token: str, body: Any) -> _Reply:
        with self._changed:
            record = self.interactions.get(token)
            if record is None or record.id != interaction_id:
                return 404, _UNKNOWN_INTERACTION
            if time.monotonic() - record.issued > self.callback_ttl:
                return 404, _UNKNOWN_INTERACTION
            if record.answered is not None:
                return 400, {"message": "Interaction has already been acknowledged.", "code": 40060}
        if not isinstance(body, dict) or not isinstance(body.get("type"), int):
            return 400, form_error("type", "BASE_TYPE_REQUIRED", "This field is required")
        kind, data = body["type"], body.get("data") or {}
        allowed = {8} if record.kind == 4 else {4, 5, 6, 7} if record.kind == 3 else {4, 5}
        if kind not in allowed:
            return 400, form_error("type", "INTERACTION_RESPONSE_TYPE_INVALID",
                                   "Interaction response type is not valid for this interaction")
        original: dict[str, Any] | None = None
        if kind == 8:
            if len(data.get("choices") or []) > CHOICES_MAX:
                return 400, form_error("data.choices", "BASE_TYPE_MAX_LENGTH",
                                       f"Must be {CHOICES_MAX} or fewer in length.")
            for i, choice in enumerate(data.get("choices") or []):
                for key in ("name", "value"):
                    if not 1 <= len(str(choice.get(key) or "")) <= 100:
                        return 400, form_error(f"data.choices.{i}.{key}", "BASE_TYPE_BAD_LENGTH",
                                               "Must be between 1 and 100 in length.")
        elif kind in (4, 7):
            errors = message_errors(data, require_content=kind == 4)
            if errors:
                return 400, errors
        if kind == 4:
            original = self._new_message(data, record.channel_id, interaction_metadata=record.metadata())
        with self._changed:
            if record.answered is not None:  # a concurrent callback won
                return 400, {"message": "Interaction has already been acknowledged.", "code": 40060}
            record.answered = kind
            record.original = original
            clicked = self._find_message(record.message_id) if kind == 7 else None
        if clicked is not None:
            self._edit(clicked, data)  # type 7 updates the message the button was on
        answer: dict[str, Any] = {"interaction": {
            "id": record.id, "type": record.kind, "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(int(data.get("flags") or 0) & P.EPHEMERAL),
            **({"response_message_id": original["id"]} if original else {})}}
        answer["resource"] = {"type": kind, **({"message": original} if original else {})}
        return 200, answer

    def _webhook(self, method: str, app_id: str, token: str, rest: list[str], body: Any) -> _Reply:
        with self._changed:
            record = self.interactions.get(token)
        if app_id != P.APPLICATION_ID or record is None or record.answered is None:
            return 404, _UNKNOWN_WEBHOOK
        if time.monotonic() - record.issued > self.token_ttl:
            return 404, _UNKNOWN_WEBHOOK
        if not rest and method == "POST":
            errors = message_errors(body)
            if errors:
                return 400, errors
            created = self._new_message(body, record.channel_id, webhook_id=P.APPLICATION_ID,
                                        application_id=P.APPLICATION_ID)
            with self._changed:
                record.followups[created["id"]] = created
            return 200, created
        if len(rest) != 2 or rest[0] != "messages":
            return 404, {"message": "404: Not Found", "code": 0}
        with self._changed:
            if rest[1] == "@original":
                if record.original is None and record.kind == 3 and record.answered in (6, 7):
                    # a button's interaction: its original is the message the button is on
                    record.original = self._find_message(record.message_id)
                if record.original is None and record.answered == 5 and method == "PATCH":
                    # editing a deferred response creates it (the "thinking…" message becomes the answer)
                    record.original = self._new_message({"content": ""}, record.channel_id,
                                                        interaction_metadata=record.metadata())
                target = record.original
            else:
                target = record.followups.get(rest[1])
            if target is None:
                return 404, _UNKNOWN_MESSAGE
            if method == "GET":
                return 200, dict(target)
            if method == "DELETE":
                if rest[1] == "@original":
                    record.original = None
                else:
                    del record.followups[rest[1]]
                return 204, None
        if method == "PATCH":
            return self._edit(target, body)
        return 405, {"message": "405: Method Not Allowed", "code": 0}

    def _respond(self, method: str, route: str, body: Any, headers: dict[str, str],
                 query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        limit = self._limited(method, route)
        bucket = f"stand-in{route.split('/')[1] if '/' in route else ''}"
        extra = {"X-RateLimit-Limit": str(_RATE_LIMIT), "X-RateLimit-Bucket": bucket,
                 "X-RateLimit-Reset-After": "1.000", "X-RateLimit-Reset": f"{time.time() + 1:.3f}"}
        if limit is not None:
            extra |= {"X-RateLimit-Remaining": "0", "Retry-After": str(max(1, round(limit.retry_after))),
                      "X-RateLimit-Reset-After": f"{limit.retry_after:.3f}",
                      "X-RateLimit-Scope": "global" if limit.is_global else "user", "Via": "1.1 google"}
            if limit.is_global:
                extra["X-RateLimit-Global"] = "true"
            return 429, {"message": "You are being rate limited.", "retry_after": limit.retry_after,
                         "global": limit.is_global}, extra
        extra["X-RateLimit-Remaining"] = str(_RATE_LIMIT - 1)
        status, answer = self._answer(method, route, body, headers)
        return status, answer, extra

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(StubRequestHandler):
            def _serve(self) -> None:
                arrived = time.perf_counter()
                url, raw, headers = self.read_request()
                query = dict(parse_qsl(url.query))
                body: Any = None
                status: int
                if raw:
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        body = raw
                extra: dict[str, str] = {}
                if not url.path.startswith(API_PREFIX + "/"):
                    route, status, answer = url.path, 404, {"message": "404: Not Found", "code": 0}
                elif raw and not headers.get("content-type", "").startswith("application/json"):
                    # multipart (file uploads) is not modelled: say so instead of guessing
                    route = url.path.removeprefix(API_PREFIX)
                    status, answer = 400, {"message": "stand-in: only JSON bodies are modelled", "code": 50035}
                else:
                    route = url.path.removeprefix(API_PREFIX)
                    try:
                        status, answer, extra = stub._respond(self.command, route, body, headers, query)
                    except Exception as exc:  # a body of a shape Discord would refuse: answer 400, don't hang up
                        status, answer = 400, {"message": f"Invalid Form Body (stand-in: {exc!r})", "code": 50035}
                # recorded before answering: whoever saw the answer can also see the call
                with stub._changed:
                    stub.calls.append(DiscordCall(method=self.command, route=route, body=body, headers=headers,
                                                  query=query, status=status, response=answer, at=arrived))
                    stub._changed.notify_all()
                payload = b"" if answer is None else json.dumps(answer).encode()
                self.send_answer(status, payload, None if answer is None else "application/json", extra)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        return Handler
