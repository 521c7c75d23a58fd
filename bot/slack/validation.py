"""What a request from Slack must look like before Bolt or a listener touches it.

Bolt and the listeners index into payloads as Slack documents them
(``body["actions"][0]``, ``event.get(...)``, ``event["user"]``). A payload of
another shape, signed or not, would otherwise end as a traceback in the log
and a 500. Every transport asks :func:`problem` first and refuses what it
names with one short log line: the HTTP server answers 400, Socket Mode acks
the envelope and drops it. Only the shapes the bot acts on are checked, so a
new kind of event Slack may add still passes through to Bolt.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.request.internals import parse_body

# Interaction types Slack sends to the same URL that the bot registers listeners for.
HANDLED_INTERACTIONS = ("block_actions", "view_submission")
# Fields of the events the bot acts on that must be strings when present, and those required.
_EVENT_STRINGS = ("type", "channel", "user", "text", "ts", "thread_ts", "subtype", "channel_type", "tab",
                  "bot_id")
_EVENT_REQUIRED = {
    "app_mention": ("channel", "ts"),
    "message": ("channel", "ts"),
    "app_home_opened": ("user",),
}
# Context Bolt builds from every payload (``extract_*`` in slack_bolt.request.internals).
_CONTEXT_OBJECTS = ("team", "user", "channel", "enterprise", "container", "message", "view")
_CONTEXT_STRINGS = ("team_id", "user_id", "channel_id", "enterprise_id", "api_app_id", "type", "trigger_id",
                    "response_url", "command", "text")


class MalformedPayload(ValueError):
    """The body is not a Slack payload the bot can read; the message says why (no request content)."""


def read_payload(body: str, content_type: str | None) -> dict[str, Any]:
    """Parse ``body`` exactly as Bolt will (JSON, form, or a form's ``payload``
    JSON) and return it. Raises :class:`MalformedPayload` instead of
    ``JSONDecodeError``/``RecursionError`` (deep nesting) or a non-object."""
    try:
        payload = parse_body(body, content_type)
    except RecursionError:
        raise MalformedPayload("the JSON is nested too deeply") from None
    except ValueError:
        raise MalformedPayload("the body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise MalformedPayload(f"the payload is a JSON {type(payload).__name__}, not an object")
    return payload


def problem(payload: Any) -> str | None:
    """Why the bot cannot act on ``payload`` (a parsed body or Socket Mode
    payload), or ``None`` when it can. The reason names fields, never values."""
    if not isinstance(payload, dict):
        return f"the payload is a {type(payload).__name__}, not an object"
    found = _context_problem(payload)
    if found:
        return found
    kind = payload.get("type")
    if kind == "event_callback":
        return _event_problem(payload.get("event"))
    if kind == "url_verification":
        return None if isinstance(payload.get("challenge"), str) else "url_verification without a string challenge"
    if "command" in payload:
        return _command_problem(payload)
    if kind == "view_submission":
        return _submission_problem(payload)
    if kind in HANDLED_INTERACTIONS:
        return _actions_problem(payload)
    if isinstance(kind, str) and ("actions" in payload or "trigger_id" in payload):
        return f"interaction type {kind[:40]!r} is not one the bot handles"
    return None


def _context_problem(payload: dict[str, Any]) -> str | None:
    for name in _CONTEXT_OBJECTS:
        value = payload.get(name)
        if value is not None and not isinstance(value, dict | str):
            return f"{name} is a {type(value).__name__}"
        if isinstance(value, dict):
            for key in ("id", "team_id", "channel_id", "message_ts", "ts", "thread_ts"):
                if key in value and value[key] is not None and not isinstance(value[key], str):
                    return f"{name}.{key} is not a string"
    for name in _CONTEXT_STRINGS:
        value = payload.get(name)
        if value is not None and not isinstance(value, str):
            return f"{name} is not a string"
    authorizations = payload.get("authorizations")
    if authorizations is not None and not (
        isinstance(authorizations, list) and all(isinstance(item, dict) for item in authorizations)
    ):
        return "authorizations is not a list of objects"
    return None


def _event_problem(event: Any) -> str | None:
    if not isinstance(event, dict):
        return f"event is {'null' if event is None else 'a ' + type(event).__name__}, not an object"
    kind = event.get("type")
    if not isinstance(kind, str) or not kind:
        return "event has no type"
    if kind not in _EVENT_REQUIRED:
        return None  # acknowledged and ignored by the catch-all listener
    for name in _EVENT_STRINGS:
        value = event.get(name)
        if value is not None and not isinstance(value, str):
            return f"event.{name} is not a string"
    for name in _EVENT_REQUIRED[kind]:
        if not event.get(name):
            return f"{kind} event without {name}"
    for name in ("message", "previous_message", "edited", "item", "view"):
        value = event.get(name)
        if value is not None and not isinstance(value, dict):
            return f"event.{name} is not an object"
    return None


def _command_problem(payload: dict[str, Any]) -> str | None:
    for name in ("command", "response_url", "trigger_id", "user_id"):
        if not isinstance(payload.get(name), str) or not payload[name]:
            return f"slash command without {name}"
    return None


def _actions_problem(payload: dict[str, Any]) -> str | None:
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions:
        return "block_actions without actions"
    for action in actions:
        if not isinstance(action, dict) or not isinstance(action.get("action_id"), str):
            return "block_actions with an action that has no action_id"
        if action.get("value") is not None and not isinstance(action["value"], str):
            return "block_actions with an action value that is not a string"
    # a click in a view (the App Home) comes without a response_url; one in a message has one
    in_view = isinstance(payload.get("container"), dict) and payload["container"].get("type") == "view"
    for name in ("user", "trigger_id") if in_view else ("user", "trigger_id", "response_url"):
        if not payload.get(name):
            return f"block_actions without {name}"
    if not isinstance(payload["user"], dict) or not isinstance(payload["user"].get("id"), str):
        return "block_actions without a user id"
    if in_view and not isinstance(payload.get("view"), dict):
        return "block_actions in a view without the view"
    return _state_problem(payload.get("view"))


def _state_problem(view: Any) -> str | None:
    """A view's ``state.values``, when present: objects of objects."""
    if not isinstance(view, dict) or view.get("state") is None:
        return None
    state = view["state"]
    values = state.get("values") if isinstance(state, dict) else None
    if not isinstance(values, dict) or not all(
            isinstance(block, dict) and all(isinstance(field, dict) for field in block.values())
            for block in values.values()):
        return "view.state.values is not an object of objects"
    return None


def _submission_problem(payload: dict[str, Any]) -> str | None:
    user, view = payload.get("user"), payload.get("view")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        return "view_submission without a user id"
    if not isinstance(view, dict) or not isinstance(view.get("callback_id"), str):
        return "view_submission without a view and its callback_id"
    for name in ("id", "private_metadata"):
        if view.get(name) is not None and not isinstance(view[name], str):
            return f"view_submission with a view.{name} that is not a string"
    return _state_problem(view)


class OneShortLine(logging.Filter):
    """Cuts Bolt's log messages to one short line: an unhandled request comes
    with a code suggestion of a dozen lines, and a request failing Bolt's own
    signature check would be logged with its whole body. (Bolt copies this
    filter to its per-class loggers when they are created.)"""

    limit = 300

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        line = message.split("\n", 1)[0]
        if len(line) > self.limit:
            line = line[: self.limit] + "…"
        if line != message:
            record.msg, record.args = line, ()
        return True


logging.getLogger("slack_bolt").addFilter(OneShortLine())
