"""A local stand-in for the Slack Web API and for ``response_url`` endpoints.

It listens on a free loopback port and answers the methods faq-bot uses the
way Slack does:

- ``auth.test``, ``chat.postMessage``, ``chat.postEphemeral``, ``chat.update``,
  ``views.publish``, ``views.open`` (a modal, with a ``trigger_id`` Slack
  issued: ``invalid_trigger_id`` otherwise, ``expired_trigger_id`` used twice),
  ``chat.getPermalink``, ``reactions.add``, ``users.info`` with the bot token, and
  ``apps.connections.open`` with the app-level token (it returns the URL of
  the Socket Mode stand-in, when one is attached);
- a missing token is ``not_authed``, a wrong one ``invalid_auth`` (HTTP 200
  with ``ok: false``, as Slack answers);
- the OAuth install flow and token rotation (``/oauth/v2/authorize``,
  ``oauth.v2.access``, and the tokens they issue, each answering for its own
  workspace): :class:`~tests.stubs.slack_oauth.OAuthDesk`, :attr:`SlackAPIStub.oauth`;
- blocks are validated like Slack does (known block types, at most 50 blocks
  in a message and 100 in a view, 3,000 characters a section, 75 a button
  label, 2,000 a button value, unique action ids, static selects of 1 to 100
  options whose initial option is one of them, input blocks only in modals,
  ...): a bad layout is ``invalid_blocks`` with the reasons;
- ``chat.update`` of a message it never saw is ``message_not_found``;
- ``chat.postMessage`` keeps a message's ``metadata``, and
  ``conversations.history`` / ``conversations.replies`` return it only with
  ``include_all_metadata``, as Slack does;
- ``/response/<id>`` takes slash-command and button replies (``200 ok``,
  ``400 invalid_blocks``, ``404 used_url`` after five posts, like Slack).

Every call is recorded (:attr:`SlackAPIStub.calls`); tests wait for calls
with :meth:`SlackAPIStub.wait_for`, which blocks on a condition variable
instead of polling. A call is recorded before its response is sent, so a
test that saw the bot finish also sees the call. :meth:`SlackAPIStub.script`
makes the next calls of a method fail (429 with ``Retry-After``, 500 ...),
hang, or take effect and still fail (``apply=True``: the uncertain outcomes).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl

from tests.stubs.loopback import LoopbackHTTPService, StubRequestHandler
from tests.stubs.slack_oauth import OAuthDesk

BOT_TOKEN = "xoxb-1111-2222-testbottoken"
APP_TOKEN = "xapp-1-A111-3333-testapptoken"
BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"
TEAM_ID = "T0TEAM01"

BLOCK_TYPES = {"section", "actions", "context", "divider", "header", "image", "input", "rich_text",
               "markdown", "file", "video", "context_actions"}
MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
RESPONSE_URL_USES = 5
_BOT_METHODS = {"auth.test", "chat.postMessage", "chat.postEphemeral", "chat.update", "views.publish",
                "views.open", "chat.getPermalink", "reactions.add", "conversations.history",
                "conversations.replies", "users.info"}
MODAL_TITLE_MAX = 24
PRIVATE_METADATA_MAX = 3000
OPTIONS_MAX = 100
# A trigger_id as Slack issues it with an interaction: digits.digits.hex
_TRIGGER_ID = re.compile(r"^\d+\.\d+\.[0-9a-z]+$")
_MESSAGE_TS = re.compile(r"^\d{10}\.\d{6}$")
# The workspace's people, as users.info describes them (the stand-in's directory).
USERS: dict[str, dict[str, Any]] = {
    "U0OTHER01": {"id": "U0OTHER01", "name": "dave.k", "real_name": "Dave Kim",
                  "profile": {"display_name": "dave", "real_name": "Dave Kim"}},
    "U0THIRD01": {"id": "U0THIRD01", "name": "carol", "real_name": "Carol Jones",
                  "profile": {"display_name": "", "real_name": "Carol Jones"}},
}


@dataclass
class Call:
    """One request the stand-in received, and what it answered."""

    method: str  # Web API method, or "response_url"
    params: dict[str, Any]
    headers: dict[str, str]
    status: int = 200
    response: Any = None
    path: str = ""
    at: float = field(default_factory=time.perf_counter)

    @property
    def ok(self) -> bool:
        """Whether Slack would have accepted the call."""
        if self.method == "response_url":
            return self.status == 200
        return isinstance(self.response, dict) and bool(self.response.get("ok"))


@dataclass
class Scripted:
    """A canned reply for the next call of a method. ``apply``: do what the
    call asks first (post the message...), then answer with this status and
    body (``body=None``: the real answer). ``delay``: wait this long before
    answering (longer than the client's timeout: the client gives up)."""

    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    apply: bool = False


def _text_errors(where: str, obj: Any, limit: int, *, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        return [f"{where}: must be a text object"]
    if plain_only and obj["type"] != "plain_text":
        return [f"{where}: must be plain_text"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"{where}: text must be a non-empty string"]
    if len(text) > limit:
        return [f"{where}: must be less than {limit + 1} characters"]
    return []


def _select_errors(where: str, element: dict[str, Any]) -> list[str]:
    options = element.get("options")
    if not isinstance(options, list) or not 1 <= len(options) <= OPTIONS_MAX:
        return [f"{where}/options: must hold 1 to {OPTIONS_MAX} items"]
    errors: list[str] = []
    if element.get("placeholder") is not None:
        errors += _text_errors(f"{where}/placeholder", element["placeholder"], 150, plain_only=True)
    for j, option in enumerate(options):
        if not isinstance(option, dict):
            errors.append(f"{where}/options/{j}: must be an object")
            continue
        errors += _text_errors(f"{where}/options/{j}/text", option.get("text"), 75, plain_only=True)
        value = option.get("value")
        if not isinstance(value, str) or not value or len(value) > 150:
            errors.append(f"{where}/options/{j}/value: must be 1 to 150 characters")
    initial = element.get("initial_option")
    if initial is not None and initial not in options:
        errors.append(f"{where}/initial_option: must match one of the options")
    return errors


def _element_errors(where: str, element: Any, action_ids: set[str], *, input_allowed: bool = False) -> list[str]:
    if not isinstance(element, dict):
        return [f"{where}: must be an object"]
    errors: list[str] = []
    kind = element.get("type")
    if kind == "button":
        errors += _text_errors(f"{where}/text", element.get("text"), 75, plain_only=True)
        if len(str(element.get("value", ""))) > 2000:
            errors.append(f"{where}/value: must be less than 2001 characters")
        if element.get("style") not in (None, "primary", "danger"):
            errors.append(f"{where}/style: must be primary or danger")
    elif kind == "static_select":
        errors += _select_errors(where, element)
    elif kind == "plain_text_input":
        if not input_allowed:
            errors.append(f"{where}: plain_text_input is only allowed in input blocks")
    elif kind not in ("overflow", "datepicker", "image", "users_select", "conversations_select",
                      "checkboxes", "radio_buttons", "multi_static_select", "timepicker"):
        errors.append(f"{where}: unsupported element type {kind!r}")
    action_id = element.get("action_id")
    if action_id is not None:
        if len(str(action_id)) > 255:
            errors.append(f"{where}/action_id: must be less than 256 characters")
        if action_id in action_ids:
            errors.append(f"{where}/action_id: {action_id} is not unique")
        action_ids.add(action_id)
    return errors


def block_errors(blocks: Any, *, limit: int = MESSAGE_BLOCKS_MAX, modal: bool = False) -> list[str]:
    """Why Slack would refuse ``blocks`` (empty when it would accept them);
    ``modal``: blocks of a modal, the only place input blocks may be."""
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return ["blocks: invalid JSON"]
    if not isinstance(blocks, list):
        return ["blocks: must be an array"]
    if len(blocks) > limit:
        return [f"blocks: must be no more than {limit} items"]
    errors: list[str] = []
    block_ids: set[str] = set()
    action_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"[{i}]"
        if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
            errors.append(f"{where}: unknown block type {block.get('type') if isinstance(block, dict) else block!r}")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if len(str(block_id)) > 255 or block_id in block_ids:
                errors.append(f"{where}/block_id: must be unique and under 256 characters")
            block_ids.add(block_id)
        kind = block["type"]
        if kind == "section":
            if "text" not in block and "fields" not in block:
                errors.append(f"{where}: section needs text or fields")
            if "text" in block:
                errors += _text_errors(f"{where}/text", block["text"], 3000)
            for j, item in enumerate(block.get("fields", [])):
                errors += _text_errors(f"{where}/fields/{j}", item, 2000)
            if len(block.get("fields", [])) > 10:
                errors.append(f"{where}/fields: must be no more than 10 items")
            if "accessory" in block:
                errors += _element_errors(f"{where}/accessory", block["accessory"], action_ids)
        elif kind == "header":
            errors += _text_errors(f"{where}/text", block.get("text"), 150, plain_only=True)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
                errors.append(f"{where}/elements: must hold 1 to 10 items")
            else:
                for j, element in enumerate(elements):
                    if isinstance(element, dict) and element.get("type") == "image":
                        continue
                    errors += _text_errors(f"{where}/elements/{j}", element, 3000)
        elif kind == "input":
            if not modal:
                errors.append(f"{where}: input blocks are only allowed in modals")
            errors += _text_errors(f"{where}/label", block.get("label"), 2000, plain_only=True)
            errors += _element_errors(f"{where}/element", block.get("element"), action_ids, input_allowed=True)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
                errors.append(f"{where}/elements: must hold 1 to 25 items")
            else:
                for j, element in enumerate(elements):
                    errors += _element_errors(f"{where}/elements/{j}", element, action_ids)
    return errors


class SlackAPIStub(LoopbackHTTPService):
    """Slack Web API on 127.0.0.1:<free port>; use as a context manager."""

    def __init__(self, *, bot_token: str = BOT_TOKEN, app_token: str = APP_TOKEN,
                 bot_user_id: str = BOT_USER_ID, bot_id: str = BOT_ID, team_id: str = TEAM_ID) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.team_id = team_id
        self.socket_url: str | None = None
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._script: dict[str, list[Scripted]] = {}
        self._response_uses: dict[str, int] = {}
        self._triggers_used: set[str] = set()
        self.views: dict[str, dict[str, Any]] = {}  # modals opened, by view id
        self.oauth = OAuthDesk()  # Slack's OAuth side: installs into more workspaces, rotating tokens
        self._ts = itertools.count(1)
        self._changed = threading.Condition()
        super().__init__(self._handler_class())

    # -- addresses -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """What ``SLACK_API_URL`` should be."""
        return f"{self.origin}/api/"

    def response_url(self, name: str = "r1") -> str:
        """A fresh ``response_url`` served by this stand-in."""
        return f"{self.origin}/response/{name}"

    # -- scripting and inspection ------------------------------------------------------
    def script(self, method: str, *replies: Scripted) -> None:
        """Answer the next calls of ``method`` with ``replies``, then normally."""
        with self._changed:
            self._script.setdefault(method, []).extend(replies)

    def calls_to(self, *methods: str) -> list[Call]:
        """Recorded calls of these methods, in arrival order."""
        with self._changed:
            return [c for c in self.calls if c.method in methods]

    def wait_for(self, predicate: Callable[[list[Call]], bool], timeout: float = 20.0) -> list[Call]:
        """Block until ``predicate(calls)`` holds; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.calls):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    summary = [(c.method, c.status) for c in self.calls]
                    raise AssertionError(f"timed out waiting for Slack calls; got {summary}")
                self._changed.wait(remaining)
            return list(self.calls)

    def wait_calls(self, *methods: str, count: int = 1, timeout: float = 20.0) -> list[Call]:
        """Block until at least ``count`` calls of ``methods`` arrived; returns them."""
        self.wait_for(lambda calls: sum(c.method in methods for c in calls) >= count, timeout)
        return self.calls_to(*methods)

    def replies(self) -> list[Call]:
        """Everything that put text in front of a person."""
        return self.calls_to("chat.postMessage", "chat.postEphemeral", "chat.update", "response_url")

    # -- protocol ----------------------------------------------------------------------
    def _record(self, call: Call) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def _auth(self, method: str, headers: dict[str, str], params: dict[str, Any]) -> dict[str, Any] | None:
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else params.get("token")
        if not token:
            return {"ok": False, "error": "not_authed"}
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if token == expected:
            return None
        return self.oauth.refusal(token) if method != "apps.connections.open" else {"ok": False,
                                                                                   "error": "invalid_auth"}

    def team_of(self, call: Call) -> str | None:
        """The workspace (or org, for an org-wide install) whose token ``call`` used."""
        token = call.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if token == self.bot_token:
            return self.team_id
        grant = self.oauth.grant(token)
        return grant.workspace.key if grant else None

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.000100"

    def _api(self, method: str, params: dict[str, Any],
             headers: dict[str, str]) -> tuple[int, Any, dict[str, str], float]:
        with self._changed:
            queue = self._script.get(method)
            scripted = queue.pop(0) if queue else None
        if scripted is None:
            return (*self._real_api(method, params, headers), 0.0)
        if not scripted.apply:
            return scripted.status, scripted.body, scripted.headers, scripted.delay
        status, body, extra = self._real_api(method, params, headers)
        if scripted.body is not None:
            status, body, extra = scripted.status, scripted.body, scripted.headers
        return status, body, extra, scripted.delay

    def _real_api(self, method: str, params: dict[str, Any],
                  headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if method == "oauth.v2.access":
            return 200, self.oauth.access(params, headers), {}
        if method == "api.test":
            return 200, {"ok": True}, {}
        if method not in _BOT_METHODS | {"apps.connections.open"}:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        denied = self._auth(method, headers, params)
        if denied:
            return 200, denied, {}
        token = headers.get("authorization", "").removeprefix("Bearer ").strip() or str(params.get("token"))
        if method == "auth.test" and self.oauth.grant(token):
            return 200, self.oauth.identity(token), {}
        if method == "auth.test":
            return 200, {"ok": True, "url": "https://faq-test.slack.com/", "team": "FAQ Test", "user": "faqbot",
                         "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id,
                         "is_enterprise_install": False}, {}
        if method == "apps.connections.open":
            if not self.socket_url:
                return 200, {"ok": False, "error": "socket_mode_not_enabled"}, {}
            return 200, {"ok": True, "url": self.socket_url}, {}
        if method == "users.info":
            user = USERS.get(str(params.get("user", "")))
            return 200, ({"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}), {}
        if method == "reactions.add":
            missing = [k for k in ("channel", "timestamp", "name") if not params.get(k)]
            return 200, ({"ok": False, "error": "invalid_arguments"} if missing else {"ok": True}), {}
        if method == "views.publish":
            view = params.get("view")
            if isinstance(view, str):
                view = json.loads(view)
            if not params.get("user_id"):
                return 200, {"ok": False, "error": "invalid_arguments"}, {}
            if not isinstance(view, dict) or view.get("type") != "home":
                return 200, {"ok": False, "error": "invalid_arguments"}, {}
            errors = block_errors(view.get("blocks", []), limit=VIEW_BLOCKS_MAX)
            if errors:
                return 200, {"ok": False, "error": "invalid_blocks", "errors": errors}, {}
            return 200, {"ok": True, "view": {"id": "V1", **view}}, {}
        if method == "views.open":
            return self._open_view(params)
        if method == "chat.getPermalink":
            channel, ts = str(params.get("channel") or ""), str(params.get("message_ts") or "")
            if not channel:
                return 200, {"ok": False, "error": "channel_not_found"}, {}
            if not _MESSAGE_TS.match(ts):
                return 200, {"ok": False, "error": "message_not_found"}, {}
            return 200, {"ok": True, "channel": channel,
                         "permalink": f"https://faq-test.slack.com/archives/{channel}/p{ts.replace('.', '')}"}, {}
        if method.startswith("conversations."):
            return self._conversation(method, params)
        return self._message(method, params)

    def _open_view(self, params: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        """``views.open``: a modal, opened with a trigger_id Slack issued, once."""
        trigger = str(params.get("trigger_id") or "")
        if not _TRIGGER_ID.match(trigger):
            return 200, {"ok": False, "error": "invalid_trigger_id"}, {}
        with self._changed:
            used = trigger in self._triggers_used
            self._triggers_used.add(trigger)
        if used:
            return 200, {"ok": False, "error": "expired_trigger_id"}, {}
        view = params.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not isinstance(view, dict) or view.get("type") != "modal":
            return 200, {"ok": False, "error": "invalid_arguments"}, {}
        errors = _text_errors("title", view.get("title"), MODAL_TITLE_MAX, plain_only=True)
        for name in ("submit", "close"):
            if view.get(name) is not None:
                errors += _text_errors(name, view[name], MODAL_TITLE_MAX, plain_only=True)
        blocks = view.get("blocks", [])
        if any(isinstance(b, dict) and b.get("type") == "input" for b in blocks) and view.get("submit") is None:
            errors.append("submit: required when a modal has input blocks")
        if len(str(view.get("private_metadata") or "")) > PRIVATE_METADATA_MAX:
            errors.append(f"private_metadata: must be less than {PRIVATE_METADATA_MAX + 1} characters")
        errors += block_errors(blocks, limit=VIEW_BLOCKS_MAX, modal=True)
        if errors:
            return 200, {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": errors}}, {}
        view_id = f"V{next(self._ts):08d}"
        with self._changed:
            self.views[view_id] = view
        return 200, {"ok": True, "view": {"id": view_id, "hash": f"{view_id}.hash", **view}}, {}

    def _conversation(self, method: str, params: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        """``conversations.history`` (top-level messages after ``oldest``) and
        ``conversations.replies`` (a thread: its parent and replies)."""
        channel = str(params.get("channel") or "")
        if not channel:
            return 200, {"ok": False, "error": "channel_not_found"}, {}
        with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        with self._changed:
            stored = [dict(m) for (c, _), m in self.messages.items() if c == channel]
        if method == "conversations.replies":
            ts = str(params.get("ts") or "")
            if not ts:
                return 200, {"ok": False, "error": "invalid_arguments"}, {}
            found = [m for m in stored if m["ts"] == ts or m.get("thread_ts") == ts]
        elif method == "conversations.history":
            oldest = float(params.get("oldest") or 0)
            found = [m for m in stored if float(m["ts"]) > oldest and m.get("thread_ts") in (None, m["ts"])]
            found.reverse()  # newest first, as Slack returns history
        else:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        if not with_metadata:
            for message in found:
                message.pop("metadata", None)
        return 200, {"ok": True, "messages": found, "has_more": False}, {}

    def _message(self, method: str, params: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        channel = params.get("channel")
        if not channel:
            return 200, {"ok": False, "error": "channel_not_found"}, {}
        text, blocks = params.get("text"), params.get("blocks")
        if not text and not blocks:
            return 200, {"ok": False, "error": "no_text"}, {}
        if text and len(str(text)) > 40000:
            return 200, {"ok": False, "error": "msg_too_long"}, {}
        if blocks is not None:
            errors = block_errors(blocks)
            if errors:
                return 200, {"ok": False, "error": "invalid_blocks", "errors": errors}, {}
        if method == "chat.postEphemeral":
            if not params.get("user"):
                return 200, {"ok": False, "error": "user_not_in_channel"}, {}
            return 200, {"ok": True, "message_ts": self._next_ts()}, {}
        if method == "chat.update":
            key = (str(channel), str(params.get("ts")))
            if key not in self.messages:
                return 200, {"ok": False, "error": "message_not_found"}, {}
            self.messages[key].update({"text": text, "blocks": blocks})
            return 200, {"ok": True, "channel": channel, "ts": key[1], "text": text}, {}
        ts = self._next_ts()
        message = {"type": "message", "user": self.bot_user_id, "bot_id": self.bot_id, "text": text,
                   "blocks": blocks, "ts": ts}
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
        metadata = params.get("metadata")
        if isinstance(metadata, str):
            try:
                metadata = json.loads(metadata)
            except ValueError:
                return 200, {"ok": False, "error": "invalid_metadata_format"}, {}
        if metadata is not None:
            if (not isinstance(metadata, dict) or not isinstance(metadata.get("event_type"), str)
                    or not isinstance(metadata.get("event_payload"), dict)):
                return 200, {"ok": False, "error": "invalid_metadata_schema"}, {}
            message["metadata"] = metadata
        with self._changed:
            self.messages[(str(channel), ts)] = message
        return 200, {"ok": True, "channel": channel, "ts": ts, "message": message}, {}

    def _response_url(self, name: str, params: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        with self._changed:
            uses = self._response_uses.get(name, 0) + 1
            self._response_uses[name] = uses
            queue = self._script.get("response_url")
            scripted = queue.pop(0) if queue else None
        if scripted is not None:
            return scripted.status, scripted.body, scripted.headers
        if uses > RESPONSE_URL_USES:
            return 404, "used_url", {}
        if params.get("delete_original"):
            return 200, "ok", {}
        if not params.get("text") and not params.get("blocks"):
            return 400, "no_text", {}
        if params.get("blocks") is not None and block_errors(params["blocks"]):
            return 400, "invalid_blocks", {}
        return 200, "ok", {}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(StubRequestHandler):
            def do_POST(self) -> None:
                arrived = time.perf_counter()
                url, raw, headers = self.read_request()
                params: dict[str, Any] = dict(parse_qsl(url.query))
                if headers.get("content-type", "").startswith("application/json") and raw:
                    params.update(json.loads(raw))
                elif raw:
                    params.update(parse_qsl(raw))
                for key in ("blocks", "view"):
                    if isinstance(params.get(key), str) and params[key].startswith(("[", "{")):
                        params[key] = json.loads(params[key])
                delay = 0.0
                if url.path.startswith("/api/"):
                    method = url.path.removeprefix("/api/")
                    status, body, extra, delay = stub._api(method, params, headers)
                elif url.path == "/oauth/v2/authorize":
                    method = "oauth.authorize"
                    status, body, extra = stub.oauth.authorize(url.query, headers.get("cookie", ""))
                elif url.path.startswith("/response/"):
                    method = "response_url"
                    status, body, extra = stub._response_url(url.path.removeprefix("/response/"), params)
                else:
                    method, status, body, extra = "unknown", 404, {"ok": False, "error": "not_found"}, {}
                # recorded before answering: whoever saw the answer can also see the call
                stub._record(Call(method=method, params=params, headers=headers, status=status, response=body,
                                  path=url.path, at=arrived))
                if delay:
                    time.sleep(delay)
                payload = json.dumps(body).encode() if isinstance(body, dict) else str(body).encode()
                try:
                    self.send_answer(status, payload, "application/json" if isinstance(body, dict) else "text/plain",
                                     extra)
                except OSError:  # the client gave up waiting (a scripted delay)
                    self.close_connection = True

            do_GET = do_POST

        return Handler
