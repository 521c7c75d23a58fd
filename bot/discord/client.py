"""The discord.py client: what the bot does the moment Discord sends something.

Every handler here only records work in the durable intake (one insert, off
the event loop) and acknowledges; the answering happens on the workers
(:mod:`bot.discord.handlers`). Interactions are deferred first (Discord allows
3 seconds; the answer may need a remote embedding call), then recorded: a
second delivery of the same interaction, or the same interaction reaching a
second replica, fails to defer ("already acknowledged") and stops there.
Messages are keyed by their id, so a message re-delivered after a Gateway
resume, or seen by two replicas, is answered once. Autocomplete is answered
from memory (:mod:`bot.discord.suggest`), by the suggester of the FAQ
revision serving at that moment.

No privileged intent is needed: Discord delivers the content of messages that
mention the bot and of DMs without Message Content. The opt-in forum
auto-answer (``DISCORD_FORUM_CHANNEL_IDS``) does need it, and asks for it only
then: a new post (``on_thread_create``) in one of those forums is recorded
under its starter message's key, so two replicas, or a mention in the same
post, answer it once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket

from bot import messages
from bot.conversation.replies import notice_reply, usage_reply
from bot.discord import render
from bot.discord.handlers import BUTTON, COMMAND, FORUM, MESSAGE
from bot.discord.suggest import SUGGESTIONS, Suggester
from bot.discord.text import as_id, question_from
from bot.serving.holder import ServingEngine
from bot.store.intake import Intake
from bot.tenancy import Tenant

log = logging.getLogger(__name__)

# The bot never joins a voice channel: no start-up warning that voice's libraries (PyNaCl, davey) are missing.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


class FAQClient(discord.Client):
    """faq-bot's Discord client: ``/faq`` with suggestions, mentions, DMs and buttons."""

    def __init__(self, *, intake: Intake, serving: ServingEngine, wake: Callable[[], None],
                 guild_ids: tuple[int, ...] = (), forum_ids: tuple[int, ...] = (), **options: Any) -> None:
        intents = discord.Intents.default()
        intents.message_content = bool(forum_ids)  # privileged: only for the opt-in forum auto-answer
        options.setdefault("intents", intents)
        super().__init__(**options)
        self.forum_ids = frozenset(forum_ids)
        self.intake = intake
        self.serving = serving
        # the suggester of the revision serving now (the benchmark swaps in a bigger one)
        self.suggestions: Callable[[], Suggester] = lambda: serving.companion(SUGGESTIONS)
        self.wake = wake
        self.guild_ids = guild_ids
        # True from READY or RESUMED to the next drop: the Gateway delivers events (readiness)
        self.session_live = False
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(self._faq_command())

    def _faq_command(self) -> app_commands.Command[Any, Any, None]:
        @app_commands.command(name="faq", description=messages.DISCORD_COMMAND_DESCRIPTION)
        @app_commands.describe(question=messages.DISCORD_OPTION_DESCRIPTION)
        async def faq(interaction: discord.Interaction, question: str | None = None) -> None:
            await self.on_faq(interaction, question or "")

        @faq.autocomplete("question")
        async def suggest(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=s.name, value=s.value) for s in self.suggestions().suggest(current)]

        return faq

    async def setup_hook(self) -> None:
        """After login, before the Gateway: connect where ``GET /gateway/bot``
        says (so ``DISCORD_API_URL`` decides both), and sync ``/faq``."""
        _shards, url, _limits = await self.http.get_bot_gateway()
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
        for guild_id in self.guild_ids:  # test servers: the command is there at once
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        if not self.guild_ids:
            await self.tree.sync()  # global: may take up to an hour to show everywhere

    # -- the Gateway session, for /readyz ---------------------------------------------------
    async def on_connect(self) -> None:
        """READY received: a new session delivers events."""
        self.session_live = True

    async def on_resumed(self) -> None:
        """RESUMED received after a drop: the session delivers events again."""
        self.session_live = True

    async def on_disconnect(self) -> None:
        """The Gateway connection dropped: until READY or RESUMED, no event arrives."""
        self.session_live = False

    async def _record(self, key: str, kind: str, payload: dict[str, Any]) -> bool:
        """Record work in the intake off the event loop, for the guild the
        Gateway delivered it from (a DM: none); False if seen before."""
        guild = payload.get("guild_id")
        tenant = Tenant.discord(guild) if guild else None
        new = await asyncio.to_thread(self.intake.add, key, kind, payload, tenant)
        if new:
            self.wake()
        else:
            log.info("%s %s was already received; not answering it twice", kind, key)
        return new

    # -- /faq ------------------------------------------------------------------------
    async def on_faq(self, interaction: discord.Interaction, question: str) -> None:
        """``/faq``: usage help at once when empty, else defer and record."""
        bot_id = str(self.user.id) if self.user else None
        text = question_from(question, bot_id)
        if not text:
            body = usage_reply(bot_id, self.serving.info)
            await interaction.response.send_message(render.render(body)["content"], ephemeral=True)
            return
        if not await self._defer(interaction, thinking=True):
            return
        payload = {"application_id": str(interaction.application_id), "token": interaction.token,
                   "question": text, "channel_id": as_id(interaction.channel_id),
                   "guild_id": as_id(interaction.guild_id), "user_id": str(interaction.user.id),
                   "bot_user_id": bot_id}
        await self._record_interaction(interaction, COMMAND, payload)

    async def _defer(self, interaction: discord.Interaction, *, thinking: bool = False) -> bool:
        """Acknowledge within Discord's 3 seconds; False when it cannot be
        (already acknowledged elsewhere, or expired before it reached us)."""
        try:
            if thinking:
                await interaction.response.defer(ephemeral=True, thinking=True)
            else:
                await interaction.response.defer()
            return True
        except discord.NotFound:
            log.warning("interaction %s expired before it could be acknowledged", interaction.id)
        except discord.HTTPException as error:
            log.info("interaction %s was acknowledged elsewhere (%s)", interaction.id, error.code)
        return False

    async def _record_interaction(self, interaction: discord.Interaction, kind: str,
                                  payload: dict[str, Any]) -> None:
        try:
            await self._record(f"interaction:{interaction.id}", kind, payload)
        except Exception as error:
            log.error("could not record interaction %s (%s); told the person to try again", interaction.id,
                      type(error).__name__)
            await interaction.followup.send(messages.STORE_UNAVAILABLE, ephemeral=True)

    # -- buttons ---------------------------------------------------------------------
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """A click on one of our buttons: defer (the message updates later) and record."""
        if interaction.type is not discord.InteractionType.component or not interaction.data:
            return
        custom_id = str(interaction.data.get("custom_id", ""))
        if render.parse_custom_id(custom_id) is None:
            return
        if not await self._defer(interaction):
            return
        message = interaction.message
        payload = {"application_id": str(interaction.application_id), "token": interaction.token,
                   "custom_id": custom_id, "channel_id": as_id(interaction.channel_id),
                   "guild_id": as_id(interaction.guild_id), "user_id": str(interaction.user.id),
                   "ephemeral": bool(message and message.flags.ephemeral)}
        await self._record_interaction(interaction, BUTTON, payload)

    # -- mentions and DMs ----------------------------------------------------------------
    async def on_message(self, message: discord.Message) -> None:
        """A DM, or a message mentioning the bot: record it to be answered in a reply."""
        if message.author.bot or self.user is None or message.type not in (discord.MessageType.default,
                                                                          discord.MessageType.reply):
            return
        dm = message.guild is None
        if not dm and self.user not in message.mentions:
            return
        bot_id = str(self.user.id)
        names = {str(u.id): u.display_name for u in message.mentions}
        names |= {str(r.id): r.name for r in message.role_mentions}
        names |= {str(c.id): c.name for c in message.channel_mentions}
        payload = {"message_id": str(message.id), "channel_id": str(message.channel.id),
                   "guild_id": as_id(message.guild.id if message.guild else None), "author_id": str(message.author.id),
                   "question": question_from(message.content, bot_id, names), "dm": dm, "bot_user_id": bot_id}
        try:
            await self._record(f"message:{message.id}", MESSAGE, payload)
        except Exception as error:  # the store is down: the message stays unanswered, and it is said
            log.error("could not record message %s (%s); it is not answered", message.id, type(error).__name__)
            try:
                await message.reply(render.render(notice_reply(messages.STORE_UNAVAILABLE))["content"],
                                    mention_author=False)
            except discord.HTTPException:
                log.warning("could not tell the asker either")


    # -- forum posts (opt-in) ----------------------------------------------------------
    async def on_thread_create(self, thread: discord.Thread) -> None:
        """A new post in one of ``DISCORD_FORUM_CHANNEL_IDS``: record it to be answered.
        The starter message is fetched by the worker (it may not exist yet)."""
        if thread.parent_id not in self.forum_ids or self.user is None or thread.owner_id == self.user.id:
            return
        payload = {"thread_id": str(thread.id), "guild_id": str(thread.guild.id), "forum_id": str(thread.parent_id),
                   "title": thread.name, "bot_user_id": str(self.user.id)}
        try:  # the starter message's id is the thread's: the key a mention of the bot in it would use too
            await self._record(f"message:{thread.id}", FORUM, payload)
        except Exception as error:  # the store is down: no reply is better than a guess in a forum
            log.error("could not record forum post %s (%s); it is not answered", thread.id, type(error).__name__)
