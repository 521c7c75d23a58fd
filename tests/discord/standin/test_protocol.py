"""The Discord stand-in answers like Discord, checked with plain HTTP and WebSocket clients.

These pin the rules a bot can break (limits, tokens, the order of interaction
calls) so that the Discord bot's tests, run through discord.py, fail where
Discord would refuse.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.stubs import discord_payloads as P
from tests.stubs.discord_standin import DiscordStandIn

AUTH = {"Authorization": f"Bot {P.BOT_TOKEN}"}


@pytest.fixture()
def standin() -> Iterator[DiscordStandIn]:
    with DiscordStandIn() as stub:
        yield stub


def post(standin: DiscordStandIn, route: str, body: Any, *, auth: bool = True) -> requests.Response:
    return requests.post(standin.api.base_url + route, json=body, headers=AUTH if auth else {}, timeout=5)


def test_token_is_required_except_on_interaction_routes(standin: DiscordStandIn) -> None:
    missing = requests.get(standin.api.base_url + "/users/@me", timeout=5)
    wrong = requests.get(standin.api.base_url + "/users/@me", headers={"Authorization": "Bot nope"}, timeout=5)
    bearer = requests.get(standin.api.base_url + "/users/@me",
                          headers={"Authorization": f"Bearer {P.BOT_TOKEN}"}, timeout=5)
    assert [r.status_code for r in (missing, wrong, bearer)] == [401, 401, 401]
    assert wrong.json() == {"message": "401: Unauthorized", "code": 0}
    me = requests.get(standin.api.base_url + "/users/@me", headers=AUTH, timeout=5)
    assert me.status_code == 200 and me.json()["id"] == P.BOT_USER_ID and me.json()["bot"] is True
    gateway = requests.get(standin.api.base_url + "/gateway/bot", headers=AUTH, timeout=5).json()
    assert gateway["url"] == standin.gateway.url and gateway["shards"] == 1
    # an interaction callback carries its token in the path and no Authorization, as on Discord
    command = P.slash_command("faq", {"question": "q"})
    standin.api.issue(command)
    answered = post(standin, f"/interactions/{command['id']}/{command['token']}/callback",
                    {"type": 4, "data": {"content": "hi"}}, auth=False)
    assert answered.status_code == 200 and answered.json()["resource"]["message"]["content"] == "hi"


@pytest.mark.parametrize(("body", "where", "code"), [
    ({"content": "x" * 2001}, "content", "BASE_TYPE_MAX_LENGTH"),
    ({"embeds": [{"title": "t", "description": "d" * 3000}, {"description": "d" * 3000}]}, "embeds",
     "MAX_EMBED_SIZE_EXCEEDED"),
    ({"embeds": [{"title": "t"}] * 11}, "embeds", "BASE_TYPE_MAX_LENGTH"),
    ({"content": "x", "components": [{"type": 1, "components": []}] * 6}, "components", "BASE_TYPE_MAX_LENGTH"),
    ({"embeds": [{"description": "d" * 4097}]}, "embeds.0.description", "BASE_TYPE_MAX_LENGTH"),
    ({"embeds": [{"title": "t" * 257}]}, "embeds.0.title", "BASE_TYPE_MAX_LENGTH"),
    ({"content": "x", "components": [{"type": 1, "components": [
        {"type": 2, "style": 1, "label": "b", "custom_id": "c" * 101}]}]}, "components.0.components.0.custom_id",
     "BASE_TYPE_MAX_LENGTH"),
    ({"content": "x", "components": [{"type": 1, "components": [
        {"type": 2, "style": 1, "label": "l" * 81, "custom_id": "c"}]}]}, "components.0.components.0.label",
     "BASE_TYPE_MAX_LENGTH"),
])
def test_message_limits_are_discords(standin: DiscordStandIn, body: dict[str, Any], where: str, code: str) -> None:
    refused = post(standin, f"/channels/{P.CHANNEL_ID}/messages", body)
    assert refused.status_code == 400
    answer = refused.json()
    assert answer["code"] == 50035 and answer["message"] == "Invalid Form Body"
    errors = answer["errors"]
    for part in where.split("."):  # Discord nests the errors along the field's path
        errors = errors[part]
    assert errors["_errors"][0]["code"] == code
    assert standin.api.messages == {}


def test_messages_at_the_limits_are_accepted(standin: DiscordStandIn) -> None:
    body = {"content": "x" * 2000, "embeds": [{"title": "t" * 256, "description": "d" * 4096},
                                              {"description": "e" * 1648}],
            "components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "b", "custom_id": f"{r}-{i}"}
                                                      for i in range(5)]} for r in range(5)]}
    accepted = post(standin, f"/channels/{P.CHANNEL_ID}/messages", body)
    assert accepted.status_code == 200 and accepted.json()["content"] == "x" * 2000
    empty = post(standin, f"/channels/{P.CHANNEL_ID}/messages", {"content": ""})
    assert empty.status_code == 400 and empty.json()["code"] == 50006


def test_malformed_bodies_get_a_400_not_a_dropped_connection(standin: DiscordStandIn) -> None:
    commands = requests.put(f"{standin.api.base_url}/applications/{P.APPLICATION_ID}/commands", json=["faq"],
                            headers=AUTH, timeout=5)
    assert commands.status_code == 400 and commands.json()["code"] == 50035
    command = P.slash_command("faq", {"question": "q"})
    standin.api.issue(command)
    odd = post(standin, f"/interactions/{command['id']}/{command['token']}/callback", {"type": 4, "data": [1]},
               auth=False)
    assert odd.status_code == 400 and odd.json()["code"] == 50035


def test_a_reply_must_reference_a_known_message(standin: DiscordStandIn) -> None:
    unknown = post(standin, f"/channels/{P.CHANNEL_ID}/messages",
                   {"content": "hi", "message_reference": {"message_id": "42"}})
    assert unknown.status_code == 400
    assert unknown.json()["errors"]["message_reference"]["_errors"][0]["code"] == "MESSAGE_REFERENCE_UNKNOWN_MESSAGE"
    original = P.mention_message("question")
    standin.api.remember(original)
    reply = post(standin, f"/channels/{P.CHANNEL_ID}/messages",
                 {"content": "answer", "message_reference": {"message_id": original["id"]}})
    assert reply.status_code == 200 and reply.json()["type"] == 19
    edited = requests.patch(f"{standin.api.base_url}/channels/{P.CHANNEL_ID}/messages/{reply.json()['id']}",
                            json={"content": "better answer"}, headers=AUTH, timeout=5)
    assert edited.status_code == 200 and edited.json()["content"] == "better answer"
    missing = requests.patch(f"{standin.api.base_url}/channels/{P.CHANNEL_ID}/messages/7", json={"content": "x"},
                             headers=AUTH, timeout=5)
    assert missing.status_code == 404 and missing.json()["code"] == 10008


def test_interaction_callbacks_follow_discords_rules(standin: DiscordStandIn) -> None:
    command = P.slash_command("faq", {"question": "q"})
    standin.api.issue(command)
    callback = f"/interactions/{command['id']}/{command['token']}/callback"
    followup = f"/webhooks/{P.APPLICATION_ID}/{command['token']}"
    early = post(standin, followup, {"content": "too early"}, auth=False)
    assert early.status_code == 404 and early.json()["code"] == 10015  # no follow-up before the callback
    wrong_type = post(standin, callback, {"type": 8, "data": {"choices": []}}, auth=False)
    assert wrong_type.status_code == 400  # autocomplete results only answer autocomplete
    assert post(standin, callback, {"type": 5}, auth=False).status_code == 200
    twice = post(standin, callback, {"type": 5}, auth=False)
    assert twice.status_code == 400 and twice.json()["code"] == 40060
    sent = post(standin, followup, {"content": "the answer"}, auth=False)
    assert sent.status_code == 200
    original = requests.patch(f"{standin.api.base_url}{followup}/messages/@original", json={"content": "done"},
                              timeout=5)
    assert original.status_code == 200 and original.json()["content"] == "done"
    again = requests.patch(f"{standin.api.base_url}{followup}/messages/{sent.json()['id']}",
                           json={"content": "x" * 2001}, timeout=5)
    assert again.status_code == 400 and again.json()["code"] == 50035

    late = P.slash_command("faq", {"question": "q"})
    standin.api.issue(late)
    standin.api.callback_ttl = 0.0
    expired = post(standin, f"/interactions/{late['id']}/{late['token']}/callback", {"type": 5}, auth=False)
    assert expired.status_code == 404 and expired.json() == {"message": "Unknown interaction", "code": 10062}


def test_autocomplete_choices_are_capped_at_25(standin: DiscordStandIn) -> None:
    for count, status in ((25, 200), (26, 400)):
        typing = P.slash_command("faq", {"question": "q"}, focused="question")
        standin.api.issue(typing)
        choices = [{"name": f"c{i}", "value": f"v{i}"} for i in range(count)]
        answer = post(standin, f"/interactions/{typing['id']}/{typing['token']}/callback",
                      {"type": 8, "data": {"choices": choices}}, auth=False)
        assert answer.status_code == status


def test_a_scripted_429_carries_discords_headers(standin: DiscordStandIn) -> None:
    standin.api.rate_limit(r"POST /channels/\d+/messages", retry_after=1.5, is_global=True)
    limited = post(standin, f"/channels/{P.CHANNEL_ID}/messages", {"content": "a"})
    assert limited.status_code == 429
    assert limited.json() == {"message": "You are being rate limited.", "retry_after": 1.5, "global": True}
    assert limited.headers["X-RateLimit-Remaining"] == "0" and limited.headers["X-RateLimit-Global"] == "true"
    assert limited.headers["Retry-After"] == "2" and limited.headers["Via"]
    assert post(standin, f"/channels/{P.CHANNEL_ID}/messages", {"content": "a"}).status_code == 200
    assert [c.status for c in standin.api.calls] == [429, 200]  # recorded, limited ones included


def _receive(ws: ClientConnection, inflate: Any) -> dict[str, Any]:
    frame = ws.recv(timeout=5)
    assert isinstance(frame, bytes) and frame.endswith(b"\x00\x00\xff\xff")  # one zlib-stream flush per payload
    return dict(json.loads(inflate.decompress(frame)))


def test_gateway_speaks_zlib_stream_and_resumes(standin: DiscordStandIn) -> None:
    inflate = zlib.decompressobj()
    with connect(standin.gateway.url + "/?v=10&encoding=json&compress=zlib-stream") as ws:
        hello = _receive(ws, inflate)
        assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] > 0
        ws.send(json.dumps({"op": 1, "d": None}))
        assert _receive(ws, inflate)["op"] == 11
        ws.send(json.dumps({"op": 2, "d": {"token": P.BOT_TOKEN, "intents": 1, "properties": {}}}))
        ready, guild = _receive(ws, inflate), _receive(ws, inflate)
        assert (ready["t"], ready["s"], guild["t"], guild["s"]) == ("READY", 1, "GUILD_CREATE", 2)
        session_id = ready["d"]["session_id"]
        with standin.gateway.disconnected():
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
            standin.message(P.dm_message("while away"))
    with connect(standin.gateway.url + "/?v=10&encoding=json") as ws:  # no compression: text frames
        assert json.loads(ws.recv(timeout=5))["op"] == 10
        ws.send(json.dumps({"op": 6, "d": {"token": P.BOT_TOKEN, "session_id": session_id, "seq": 2}}))
        missed, resumed = json.loads(ws.recv(timeout=5)), json.loads(ws.recv(timeout=5))
        assert (missed["t"], missed["s"], missed["d"]["content"]) == ("MESSAGE_CREATE", 3, "while away")
        assert resumed["t"] == "RESUMED"
    with connect(standin.gateway.url + "/?v=10&encoding=json") as ws:
        ws.recv(timeout=5)
        ws.send(json.dumps({"op": 6, "d": {"token": P.BOT_TOKEN, "session_id": "gone", "seq": 2}}))
        assert json.loads(ws.recv(timeout=5)) == {"op": 9, "d": False, "s": None, "t": None}


def test_gateway_refuses_a_bad_token_with_4004(standin: DiscordStandIn) -> None:
    with connect(standin.gateway.url + "/?v=10&encoding=json") as ws:
        ws.recv(timeout=5)
        ws.send(json.dumps({"op": 2, "d": {"token": "wrong", "intents": 1, "properties": {}}}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4004
    assert standin.gateway.identifies == 0


def test_gateway_refuses_a_privileged_intent_not_switched_on_with_4014(standin: DiscordStandIn) -> None:
    identify = {"op": 2, "d": {"token": P.BOT_TOKEN, "intents": 1 | P.MESSAGE_CONTENT_INTENT, "properties": {}}}
    with connect(standin.gateway.url + "/?v=10&encoding=json") as ws:
        ws.recv(timeout=5)
        ws.send(json.dumps(identify))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4014
    standin.gateway.privileged_allowed = P.MESSAGE_CONTENT_INTENT  # switched on in the Developer Portal
    with connect(standin.gateway.url + "/?v=10&encoding=json") as ws:
        ws.recv(timeout=5)
        ws.send(json.dumps(identify))
        assert json.loads(ws.recv(timeout=5))["t"] == "READY"


def test_messages_go_to_known_channels_and_a_forum_starter_can_404_at_first(standin: DiscordStandIn) -> None:
    unknown = post(standin, "/channels/1000000000000000999/messages", {"content": "hi"})
    assert unknown.status_code == 404 and unknown.json()["code"] == 10003
    standin.api.deny(P.HANDOFF_CHANNEL_ID)
    denied = post(standin, f"/channels/{P.HANDOFF_CHANNEL_ID}/messages", {"content": "hi"})
    assert denied.status_code == 403 and denied.json()["code"] == 50001

    thread = P.forum_thread("Lost card")
    starter = P.message("I lost my card", channel_id=thread["id"], message_id=thread["id"])
    standin.api.add_forum_post(thread, starter, missing_for=2)
    url = f"{standin.api.base_url}/channels/{thread['id']}/messages/{thread['id']}"
    statuses = [requests.get(url, headers=AUTH, timeout=5).status_code for _ in range(3)]
    assert statuses == [404, 404, 200]
    assert requests.get(url, headers=AUTH, timeout=5).json()["content"] == "I lost my card"
    assert post(standin, f"/channels/{thread['id']}/messages", {"content": "an answer"}).status_code == 200
