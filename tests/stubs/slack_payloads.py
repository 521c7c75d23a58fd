"""What Slack sends an app, built the way Slack builds it, and signed.

Shapes follow Slack's Events API (``event_callback`` envelopes), slash command
form posts and ``block_actions`` interaction payloads, for both transports:
HTTP mode gets the form/JSON bodies signed with the signing secret (v0 HMAC),
Socket Mode gets the same payloads as dicts inside envelopes.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from tests.stubs.slack_api import BOT_USER_ID, TEAM_ID

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
APP_ID = "A0TESTAPP"
USER = "UASKER01"
CHANNEL = "C0GENERAL"
DM_CHANNEL = "D0DIRECT1"
_counter = itertools.count(1)


def _next() -> int:
    return next(_counter)


def message_ts() -> str:
    """A fresh message timestamp."""
    return f"{1_690_000_000 + _next()}.{_next():06d}"


def event_callback(event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """An Events API ``event_callback`` around ``event``."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{_next():08d}",
        "event_time": int(time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True,
                            "is_enterprise_install": False}],
        "is_ext_shared_channel": False,
    }


def mention(text: str, *, channel: str = CHANNEL, user: str = USER, ts: str | None = None,
            thread_ts: str | None = None, event_id: str | None = None) -> dict[str, Any]:
    """``@bot text`` in a channel (``text`` should hold the ``<@BOT>`` markup)."""
    ts = ts or message_ts()
    event: dict[str, Any] = {"type": "app_mention", "user": user, "text": text, "ts": ts, "channel": channel,
                             "event_ts": ts, "team": TEAM_ID}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event_callback(event, event_id=event_id)


def direct_message(text: str, *, channel: str = DM_CHANNEL, user: str = USER, ts: str | None = None,
                   subtype: str | None = None, bot_id: str | None = None, event_id: str | None = None,
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ``message`` event in a DM (``channel_type: im``)."""
    ts = ts or message_ts()
    event: dict[str, Any] = {"type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
                             "event_ts": ts, "channel_type": "im", "team": TEAM_ID}
    if subtype:
        event["subtype"] = subtype
    if bot_id:
        event["bot_id"] = bot_id
    event.update(extra or {})
    return event_callback(event, event_id=event_id)


def home_opened(*, user: str = USER) -> dict[str, Any]:
    """``app_home_opened`` on the Home tab."""
    return event_callback({"type": "app_home_opened", "user": user, "channel": DM_CHANNEL, "tab": "home",
                           "event_ts": message_ts()})


def slash_command(text: str, response_url: str, *, channel: str = CHANNEL, user: str = USER) -> dict[str, str]:
    """The form fields of ``/faq text``."""
    return {
        "token": "legacy-verification-token", "team_id": TEAM_ID, "team_domain": "faq-test",
        "channel_id": channel, "channel_name": "general", "user_id": user, "user_name": "asker",
        "command": "/faq", "text": text, "api_app_id": APP_ID, "is_enterprise_install": "false",
        "response_url": response_url, "trigger_id": f"{_next()}.{_next()}.trigger",
    }


def button_click(button: dict[str, Any], *, response_url: str, channel: str = CHANNEL, user: str = USER,
                 message: dict[str, Any] | None = None, ephemeral: bool = False,
                 message_ts_: str | None = None) -> dict[str, Any]:
    """A ``block_actions`` payload for a click on ``button`` (an element as posted)."""
    ts = message_ts_ or (message or {}).get("ts") or message_ts()
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": "asker", "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": ephemeral},
        "trigger_id": f"{_next()}.{_next()}.trigger",
        "team": {"id": TEAM_ID, "domain": "faq-test"},
        "channel": {"id": channel, "name": "general"},
        "response_url": response_url,
        "actions": [{
            "action_id": button["action_id"], "block_id": button.get("block_id", "b"), "text": button["text"],
            "value": button.get("value", ""), "type": "button", "action_ts": f"{time.time():.6f}",
        }],
    }
    if message is not None and not ephemeral:
        payload["message"] = message
    return payload


def buttons(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The buttons in posted ``blocks`` by action id, each with its block id."""
    found = {}
    for block in blocks or []:
        if block.get("type") == "actions":
            for element in block["elements"]:
                if element.get("type") == "button":
                    found[element["action_id"]] = {**element, "block_id": block.get("block_id")}
    return found


@dataclass(frozen=True)
class SignedRequest:
    """An HTTP request as Slack would send it to ``/slack/events``."""

    body: bytes
    headers: dict[str, str]


def sign(body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None,
         content_type: str = "application/json", retry: int | None = None) -> SignedRequest:
    """Headers with ``X-Slack-Signature`` (v0 HMAC) for ``body``; ``retry`` adds
    ``X-Slack-Retry-Num`` / ``X-Slack-Retry-Reason`` like Slack's retries."""
    ts = int(time.time()) if timestamp is None else timestamp
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(ts), body=body)
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(ts),
               "X-Slack-Signature": signature}
    if retry:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return SignedRequest(body=body.encode(), headers=headers)


def signed_event(payload: dict[str, Any], **kwargs: Any) -> SignedRequest:
    """An Events API body, signed."""
    return sign(json.dumps(payload), **kwargs)


def signed_form(fields: dict[str, str], **kwargs: Any) -> SignedRequest:
    """A slash command form, signed."""
    return sign(urlencode(fields), content_type="application/x-www-form-urlencoded", **kwargs)


def signed_action(payload: dict[str, Any], **kwargs: Any) -> SignedRequest:
    """An interaction payload (``payload=<json>`` form), signed."""
    return sign(urlencode({"payload": json.dumps(payload)}), content_type="application/x-www-form-urlencoded",
                **kwargs)


def trigger_id() -> str:
    """A fresh ``trigger_id`` as Slack issues one with an interaction."""
    return f"{_next()}.{_next()}.trigger"


def home_action(element: dict[str, Any], view: dict[str, Any], *, user: str = USER,
                state: dict[str, Any] | None = None, selected: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ``block_actions`` payload for a click on ``element`` (with its
    ``block_id``) in a published Home ``view``; ``state`` is the view's
    ``state.values``; ``selected`` the option chosen when ``element`` is a select."""
    action: dict[str, Any] = {"action_id": element["action_id"], "block_id": element.get("block_id", "b"),
                              "type": element.get("type", "button"), "action_ts": f"{time.time():.6f}"}
    if element.get("type") == "static_select":
        action["selected_option"] = selected
    else:
        action.update(text=element.get("text"), value=element.get("value", ""))
    return {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "container": {"type": "view", "view_id": "VHOME0001"},
        "trigger_id": trigger_id(),
        "team": {"id": TEAM_ID, "domain": "faq-test"},
        "view": {"id": "VHOME0001", "type": "home", "blocks": view.get("blocks", []),
                 "state": {"values": state or {}}, "hash": f"{_next()}.hash", "app_id": APP_ID},
        "actions": [action],
    }


def _input_action(view: dict[str, Any], block_id: str) -> str:
    for block in view.get("blocks", []):
        if block.get("block_id") == block_id:
            return str(block["element"]["action_id"])
    raise KeyError(f"the view has no input block {block_id!r}")


def view_submission(view: dict[str, Any], values: dict[str, str], *, user: str = USER,
                    view_id: str | None = None) -> dict[str, Any]:
    """A ``view_submission`` of a modal ``view`` (as opened) with plain text
    inputs: ``values`` maps each input block id to what was typed (under its
    element's action id, as Slack sends it)."""
    state = {block: {_input_action(view, block): {"type": "plain_text_input", "value": value}}
             for block, value in values.items()}
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "faq-test"},
        "user": {"id": user, "username": "someone", "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "trigger_id": trigger_id(),
        "view": {"id": view_id or f"VMODAL{_next():04d}", "type": "modal", "callback_id": view.get("callback_id"),
                 "private_metadata": view.get("private_metadata", ""), "blocks": view.get("blocks", []),
                 "state": {"values": state}, "hash": f"{_next()}.hash", "app_id": APP_ID},
        "response_urls": [],
    }


def elements(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every interactive element in ``blocks`` (buttons, selects) by action id, with its block id."""
    found = {}
    for block in blocks or []:
        if block.get("type") == "actions":
            for element in block["elements"]:
                found[element["action_id"]] = {**element, "block_id": block.get("block_id")}
    return found
