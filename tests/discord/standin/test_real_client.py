"""The real discord.py client against the Discord stand-in, over real sockets.

A ``commands.Bot`` with an ``app_commands`` tree (a ``/faq question:`` command
with autocomplete and a "Share" button) logs in, connects to the Gateway
stand-in, and handles what the stand-in dispatches; the tests assert on the
REST calls the stand-in recorded and on what the client saw.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.stubs import discord_payloads as P
from tests.stubs.discord_standin import ClientThread, DiscordStandIn, adopt_gateway, use_api

MESSAGES = r"/channels/\d+/messages"
CALLBACK = r"/interactions/\d+/[^/]+/callback"
FOLLOWUP = rf"/webhooks/{P.APPLICATION_ID}/[^/]+"


class Seen:
    """What the bot's handlers saw, for the test thread to wait on."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self._changed = threading.Condition()

    def add(self, name: str, value: Any) -> None:
        with self._changed:
            self.events.append((name, value))
            self._changed.notify_all()

    def wait(self, name: str, count: int = 1, timeout: float = 10.0) -> list[Any]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.of(name)) >= count, timeout):
                raise AssertionError(f"the bot did not see {count} {name!r}; saw {self.events}")
            return self.of(name)

    def of(self, name: str) -> list[Any]:
        return [value for seen, value in self.events if seen == name]


class ShareView(discord.ui.View):
    """The ephemeral answer's "Share in channel" button."""

    def __init__(self, seen: Seen) -> None:
        super().__init__(timeout=None)
        self.seen = seen

    @discord.ui.button(label="Share in channel", custom_id="faq:share", style=discord.ButtonStyle.primary)
    async def share(self, interaction: discord.Interaction, button: discord.ui.Button[ShareView]) -> None:
        await interaction.response.edit_message(content="Shared.", view=None)
        self.seen.add("click", interaction.data)


class FaqTestBot(commands.Bot):
    """A bot shaped like faq-bot's: /faq with suggestions, answers to mentions and DMs."""

    def __init__(self, seen: Seen) -> None:
        super().__init__(command_prefix=commands.when_mentioned, intents=discord.Intents.default(),
                         guild_ready_timeout=0.05, enable_debug_events=True)
        self.seen = seen
        self.choices = 25
        self.tree.on_error = self._tree_error  # type: ignore[method-assign]

        @app_commands.command(name="faq", description="Ask the FAQ a question")
        @app_commands.describe(question="What do you want to know?")
        async def faq(interaction: discord.Interaction, question: str) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            sent = await interaction.followup.send(f"Answer to: {question}", ephemeral=True,
                                                   view=ShareView(seen), wait=True)
            seen.add("answered", sent)

        @faq.autocomplete("question")
        async def suggest(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            seen.add("typing", current)
            return [app_commands.Choice(name=f"{current} #{i}", value=f"faq-{i}") for i in range(self.choices)]

        self.tree.add_command(faq)

    async def setup_hook(self) -> None:
        self.seen.add("gateway", await adopt_gateway(self))

    async def _tree_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        self.seen.add("error", getattr(error, "original", error))

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return
        self.seen.add("message", message)
        if message.guild is None:
            await message.channel.send(f"DM answer: {message.content}")
        elif self.user in message.mentions:
            await message.reply(f"Answer: {message.content}", mention_author=False)

    async def on_socket_raw_receive(self, raw: str) -> None:
        # runs after discord.py handled the payload: for an ACK, its latency is measured by now
        if json.loads(raw).get("op") == 11:
            self.seen.add("ack", self.latency)

    async def on_resumed(self) -> None:
        self.seen.add("resumed", True)


@pytest.fixture()
def standin() -> Iterator[DiscordStandIn]:
    with DiscordStandIn() as stub, use_api(stub.api.base_url):
        yield stub


@pytest.fixture()
def bot(standin: DiscordStandIn) -> Iterator[tuple[FaqTestBot, ClientThread]]:
    """The bot logged in, connected and ready."""
    client = FaqTestBot(Seen())
    with ClientThread(client) as runner:
        runner.wait_ready()
        yield client, runner
    # a payload discord.py cannot parse ends the client: say so instead of leaving only a timeout
    assert runner.error is None, f"the client died: {runner.error!r}"


def test_logs_in_connects_and_identifies(standin: DiscordStandIn, bot: tuple[FaqTestBot, ClientThread]) -> None:
    client, _ = bot
    assert client.seen.of("gateway") == [standin.gateway.url]
    assert standin.api.calls[0].route == "/users/@me"  # static_login: the token check
    assert {c.route for c in standin.api.calls} == {"/users/@me", "/oauth2/applications/@me", "/gateway/bot"}
    assert all(c.headers["authorization"] == f"Bot {P.BOT_TOKEN}" and c.status == 200 for c in standin.api.calls)
    session = standin.gateway.wait_identified()
    assert standin.gateway.connection_paths[0] == "/?v=10&encoding=json&compress=zlib-stream"
    identify = next(p for p in standin.gateway.received if p["op"] == 2)
    assert identify["d"]["token"] == P.BOT_TOKEN
    assert identify["d"]["intents"] == discord.Intents.default().value
    standin.gateway.wait_for(lambda: standin.gateway.heartbeats >= 1, what="a heartbeat")
    assert client.user is not None and str(client.user.id) == P.BOT_USER_ID
    assert str(client.application_id) == P.APPLICATION_ID
    guild = client.get_guild(int(P.GUILD_ID))
    assert guild is not None and guild.get_channel(int(P.CHANNEL_ID)) is not None
    assert [e["t"] for e in session.events] == ["READY", "GUILD_CREATE"]


def test_heartbeats_are_acknowledged(standin: DiscordStandIn, bot: tuple[FaqTestBot, ClientThread]) -> None:
    client, _ = bot
    (latency,) = client.seen.wait("ack")
    assert standin.gateway.heartbeats >= 1
    # discord.py measures latency from a heartbeat to its ACK: infinite until an ACK (op 11) arrived
    assert 0 <= latency < float("inf")


def test_syncs_the_faq_command_globally_and_to_a_guild(standin: DiscordStandIn,
                                                       bot: tuple[FaqTestBot, ClientThread]) -> None:
    client, runner = bot
    synced = runner.call(client.tree.sync())
    assert [c.name for c in synced] == ["faq"]
    (put,) = standin.api.calls_to("PUT", rf"/applications/{P.APPLICATION_ID}/commands")
    (command,) = put.body
    assert command["name"] == "faq" and command["options"][0]["name"] == "question"
    assert command["options"][0]["autocomplete"] is True and command["options"][0]["required"] is True
    guild = discord.Object(int(P.GUILD_ID))
    client.tree.copy_global_to(guild=guild)
    runner.call(client.tree.sync(guild=guild))
    assert [c["name"] for c in standin.api.commands[P.GUILD_ID]] == ["faq"]
    assert synced[0].id == int(standin.api.commands[None][0]["id"])


def test_autocomplete_answers_at_most_25_choices(standin: DiscordStandIn,
                                                 bot: tuple[FaqTestBot, ClientThread]) -> None:
    client, _ = bot
    typing = standin.interaction(P.slash_command("faq", {"question": "how do I re"}, focused="question"))
    client.seen.wait("typing")
    (call,) = standin.api.wait_calls("POST", CALLBACK)
    assert call.status == 200 and call.route == f"/interactions/{typing.id}/{typing.token}/callback"
    assert call.body["type"] == 8 and len(call.body["data"]["choices"]) == 25
    assert call.body["data"]["choices"][0] == {"name": "how do I re #0", "value": "faq-0"}


def test_a_26_choice_autocomplete_answer_gets_discords_400(standin: DiscordStandIn,
                                                           bot: tuple[FaqTestBot, ClientThread]) -> None:
    client, _ = bot
    client.choices = 26
    standin.interaction(P.slash_command("faq", {"question": "pass"}, focused="question"))
    (call,) = standin.api.wait_calls("POST", CALLBACK)
    assert call.status == 400
    assert call.response["code"] == 50035
    assert call.response["errors"]["data"]["choices"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"


def test_slash_command_defers_then_follows_up_and_the_button_updates(
        standin: DiscordStandIn, bot: tuple[FaqTestBot, ClientThread]) -> None:
    client, _ = bot
    command = standin.interaction(P.slash_command("faq", {"question": "How do I reset my password?"}))
    (answered,) = client.seen.wait("answered")
    (defer,) = standin.api.calls_to("POST", CALLBACK)
    assert defer.body == {"type": 5, "data": {"flags": P.EPHEMERAL}}
    assert defer.query == {"with_response": "1"} and defer.response["interaction"]["response_message_loading"]
    (followup,) = standin.api.calls_to("POST", FOLLOWUP)
    assert followup.route == f"/webhooks/{P.APPLICATION_ID}/{command.token}" and followup.query["wait"] == "1"
    assert followup.body["content"] == "Answer to: How do I reset my password?"
    assert followup.body["flags"] & P.EPHEMERAL
    assert followup.body["components"][0]["components"][0]["custom_id"] == "faq:share"
    assert defer.at < followup.at and answered.id == int(followup.response["id"])

    click = standin.interaction(P.button_click("faq:share", followup.response))
    (data,) = client.seen.wait("click")
    assert data["custom_id"] == "faq:share"
    update = standin.api.wait_calls("POST", CALLBACK, count=2)[-1]
    assert update.route == f"/interactions/{click.id}/{click.token}/callback"
    assert update.status == 200 and update.body["type"] == 7
    assert update.body["data"]["content"] == "Shared." and update.body["data"]["components"] == []
    shared = standin.api.interactions[command.token].followups[followup.response["id"]]
    assert shared["content"] == "Shared." and shared["components"] == []  # the clicked message was updated


def test_mention_is_answered_in_a_reply(standin: DiscordStandIn, bot: tuple[FaqTestBot, ClientThread]) -> None:
    client, _ = bot
    mention = P.mention_message("where is the VPN guide?")
    standin.message(mention)
    (seen,) = client.seen.wait("message")
    assert seen.content == f"<@{P.BOT_USER_ID}> where is the VPN guide?" and client.user in seen.mentions
    (reply,) = standin.api.wait_calls("POST", MESSAGES)
    assert reply.route == f"/channels/{P.CHANNEL_ID}/messages" and reply.status == 200
    assert str(reply.body["message_reference"]["message_id"]) == mention["id"]
    assert reply.response["referenced_message"]["id"] == mention["id"]


def test_dm_is_answered_in_the_dm_and_a_dm_can_be_opened(standin: DiscordStandIn,
                                                         bot: tuple[FaqTestBot, ClientThread]) -> None:
    client, runner = bot
    standin.message(P.dm_message("hello there"))
    (seen,) = client.seen.wait("message")
    assert seen.guild is None and seen.content == "hello there"
    (reply,) = standin.api.wait_calls("POST", MESSAGES)
    assert reply.route == f"/channels/{P.DM_CHANNEL_ID}/messages" and reply.body["content"] == "DM answer: hello there"

    channel = runner.call(client.create_dm(discord.Object(int(P.USER_ID))))
    assert channel.id == int(P.DM_CHANNEL_ID)
    (opened,) = standin.api.calls_to("POST", "/users/@me/channels")
    assert opened.body == {"recipient_id": int(P.USER_ID)}


def test_a_dropped_connection_resumes_and_the_missed_message_is_replayed(
        standin: DiscordStandIn, bot: tuple[FaqTestBot, ClientThread]) -> None:
    client, _ = bot
    session = standin.gateway.wait_identified()
    missed = P.mention_message("asked while the bot was away")
    with standin.gateway.disconnected():
        seq = standin.message(missed)  # the client is away: Discord keeps it for the resume
    standin.gateway.wait_resumed()
    assert session.replayed == [seq]
    client.seen.wait("resumed")
    (seen,) = client.seen.wait("message")
    assert seen.id == int(missed["id"])
    resume = next(p for p in standin.gateway.received if p["op"] == 6)
    assert resume["d"] == {"seq": seq - 1, "session_id": session.id, "token": P.BOT_TOKEN}
    assert standin.gateway.identifies == 1  # resumed, not re-identified
    (reply,) = standin.api.wait_calls("POST", MESSAGES)
    assert str(reply.body["message_reference"]["message_id"]) == missed["id"]


def test_a_resume_can_redeliver_a_message_already_seen(standin: DiscordStandIn,
                                                       bot: tuple[FaqTestBot, ClientThread]) -> None:
    client, _ = bot
    first = P.mention_message("answer me once")
    standin.message(first)
    client.seen.wait("message")
    standin.gateway.redeliver_on_resume(1)
    standin.gateway.drop()
    standin.gateway.wait_resumed()
    seen = client.seen.wait("message", count=2)
    assert [m.id for m in seen] == [int(first["id"])] * 2  # the bot must de-duplicate; the stand-in repeats
    assert len(standin.api.wait_calls("POST", MESSAGES, count=2)) == 2


def test_op_7_reconnect_is_followed_by_a_resume(standin: DiscordStandIn,
                                                bot: tuple[FaqTestBot, ClientThread]) -> None:
    client, _ = bot
    standin.gateway.wait_identified()
    standin.gateway.request_reconnect()
    standin.gateway.wait_resumed()
    client.seen.wait("resumed")
    standin.message(P.dm_message("still there?"))
    assert client.seen.wait("message")[0].content == "still there?"
    assert standin.gateway.identifies == 1 and len(standin.gateway.connection_paths) == 2


def test_a_429_is_waited_out_and_retried(standin: DiscordStandIn, bot: tuple[FaqTestBot, ClientThread]) -> None:
    client, runner = bot
    standin.api.rate_limit(rf"POST {MESSAGES}", retry_after=0.3)
    channel = client.get_channel(int(P.CHANNEL_ID))
    assert isinstance(channel, discord.TextChannel)
    sent = runner.call(channel.send("after the limit"))
    limited, accepted = standin.api.calls_to("POST", MESSAGES)
    assert limited.status == 429 and limited.response["retry_after"] == 0.3
    assert accepted.status == 200 and sent.id == int(accepted.response["id"])
    assert accepted.at - limited.at >= 0.3  # discord.py slept for retry_after before retrying
    edited = runner.call(sent.edit(content="edited"))
    (edit,) = standin.api.calls_to("PATCH", rf"{MESSAGES}/{sent.id}")
    assert edit.status == 200 and edit.body["content"] == "edited" and edited.content == "edited"


def test_an_interaction_answered_too_late_is_unknown(standin: DiscordStandIn,
                                                     bot: tuple[FaqTestBot, ClientThread]) -> None:
    client, _ = bot
    standin.api.callback_ttl = 0.0  # as if the bot took over 3 s to answer
    standin.interaction(P.slash_command("faq", {"question": "slow?"}))
    (error,) = client.seen.wait("error")
    assert isinstance(error, discord.NotFound) and error.code == 10062
    (call,) = standin.api.calls_to("POST", CALLBACK)
    assert call.status == 404 and call.response == {"message": "Unknown interaction", "code": 10062}


def test_a_follow_up_after_the_token_expired_is_unknown_webhook(standin: DiscordStandIn,
                                                                bot: tuple[FaqTestBot, ClientThread]) -> None:
    client, _ = bot
    standin.api.token_ttl = 0.0  # as if 15 minutes passed between deferring and following up
    standin.interaction(P.slash_command("faq", {"question": "too late?"}))
    (error,) = client.seen.wait("error")
    assert isinstance(error, discord.NotFound) and error.code == 10015
    assert [c.status for c in standin.api.calls_to("POST", CALLBACK)] == [200]


def test_a_bad_token_fails_login_with_401(standin: DiscordStandIn) -> None:
    client = FaqTestBot(Seen())
    with ClientThread(client, token="not-the-token") as runner, pytest.raises(AssertionError):
        runner.wait_ready(timeout=10)
    assert isinstance(runner.error, discord.LoginFailure)
    (call,) = standin.api.calls
    assert call.route == "/users/@me" and call.status == 401
    assert call.response == {"message": "401: Unauthorized", "code": 0}
    assert standin.gateway.connection_paths == []
