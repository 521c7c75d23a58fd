"""``/faq-route``: server managers choose which FAQ answers in their server
or in one channel of it, changed without a restart.

``/faq-route index:<user/name[@revision] or folder> [channel:#channel]`` sets
the route (no channel: the server's default); ``remove:True`` removes it.
The command is registered for members with Manage Server only
(``default_member_permissions``), and the permission (or Administrator) is
checked again when it arrives, from the member's permissions Discord sends with it: anyone else
is told no and nothing changes. The server is the interaction's own guild.
The reply is ephemeral, one line; the change counts from the next question
(the routes table is read through the bot's cache, emptied by the write).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import discord
from discord import app_commands

from bot import messages
from bot.conversation.routing import Routing
from bot.serving.refs import check_ref
from bot.store.routes import WORKSPACE_DEFAULT
from faq_core.errors import FAQBotError

log = logging.getLogger(__name__)

PLATFORM = "discord"
COMMAND_NAME = "faq-route"
_CHANNEL = re.compile(r"^(?:<#)?(\d{1,20})>?$")


def channel_id(text: str | None) -> str | None:
    """A channel mention (``<#123>``) or id as the id; ``''`` for none; None when it is neither."""
    text = (text or "").strip()
    if not text:
        return WORKSPACE_DEFAULT
    found = _CHANNEL.match(text)
    return found.group(1) if found else None


def change_route(routing: Routing, guild: str, channel: str, index: str, remove: bool, user: str) -> str:
    """Make the change (on a worker thread: it checks a folder and writes the store); the one-line reply."""
    where = (messages.DISCORD_ROUTE_WHERE_CHANNEL.format(channel=channel) if channel
             else messages.DISCORD_ROUTE_WHERE_DEFAULT)
    try:
        if remove:
            had = routing.table.unset(PLATFORM, guild, channel)
            return (messages.ROUTE_UNSET if had else messages.ROUTE_NONE).format(where=where)
        ref = check_ref(index)
        routing.table.set(PLATFORM, guild, channel, ref, by=f"discord:{user}"[:64])
        return messages.ROUTE_SET.format(where=where, index=ref)
    except (FAQBotError, ValueError) as error:
        return messages.ROUTE_REFUSED.format(reason=str(error))


def route_command(routing: Routing) -> app_commands.Command[Any, Any, None]:
    """The ``/faq-route`` command over ``routing``."""

    @app_commands.command(name=COMMAND_NAME, description=messages.DISCORD_ROUTE_DESCRIPTION)
    @app_commands.describe(index=messages.DISCORD_ROUTE_INDEX, channel=messages.DISCORD_ROUTE_CHANNEL,
                           remove=messages.DISCORD_ROUTE_REMOVE)
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def faq_route(interaction: discord.Interaction, index: str | None = None, channel: str | None = None,
                        remove: bool = False) -> None:
        if interaction.guild_id is None:
            await interaction.response.send_message(messages.DISCORD_ROUTE_NOT_IN_SERVER, ephemeral=True)
            return
        permissions = interaction.permissions
        if not (permissions.manage_guild or permissions.administrator):
            log.warning("refused /%s from user %s in guild %s: no Manage Server permission", COMMAND_NAME,
                        interaction.user.id, interaction.guild_id)
            await interaction.response.send_message(messages.DISCORD_ROUTE_ADMINS_ONLY, ephemeral=True)
            return
        target = channel_id(channel)
        if target is None:
            reply = messages.ROUTE_REFUSED.format(reason=f"{channel!r} is not a channel (pick one with #)")
        else:
            reply = await asyncio.to_thread(change_route, routing, str(interaction.guild_id), target, index or "",
                                            remove, str(interaction.user.id))
        log.info("/%s by %s in guild %s: %s", COMMAND_NAME, interaction.user.id, interaction.guild_id, reply)
        await interaction.response.send_message(reply, ephemeral=True)

    return faq_route
