"""``python -m bot discord``: the Discord bot.

:class:`DiscordPlatform` is Discord's :class:`~bot.platform.Platform`; the
core runs it (:func:`~bot.platform.run_platform`). ``DISCORD_BOT_TOKEN`` is
checked first (missing or malformed: one sentence naming it, exit status 2);
the operations endpoints (with the Gateway check) are served on
``METRICS_PORT``; then the bot logs in (a token Discord rejects with 401: one
line, exit 2), syncs ``/faq`` and serves the Gateway until SIGINT/SIGTERM,
when the workers finish the replies in hand and the client closes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot import messages
from bot.discord.settings import DiscordSettings, check_discord_settings
from bot.platform import Core, run_platform
from faq_core.errors import ConfigError, ServiceError

if TYPE_CHECKING:
    from bot.discord.app import DiscordBot
    from bot.ops.readiness import Check

log = logging.getLogger("bot")

PLATFORM = "discord"


class DiscordPlatform:
    """Discord over its Gateway, as the core runs a platform."""

    name = PLATFORM
    serves_operations = False

    def __init__(self, settings: DiscordSettings) -> None:
        self.settings = settings
        self.config = check_discord_settings(settings)
        self.bot: DiscordBot | None = None

    def connect(self) -> None:
        """discord.py must be installed; every REST call (interaction callbacks
        and webhooks included) goes to ``DISCORD_API_URL``. The token itself is
        checked at login, in :meth:`serve`."""
        try:
            from discord.http import Route
        except ImportError:
            raise ConfigError("discord.py is not installed: pip install 'faq-bot[discord]'") from None
        Route.BASE = self.config.api_url

    def start(self, core: Core) -> None:
        """The client, the answerer and the intake workers (started at login)."""
        from bot.discord.app import DiscordBot

        self.bot = DiscordBot(self.settings, core.serving, core.store, guild_ids=self.config.guild_ids,
                              metrics=core.metrics, routing=core.routing)

    def checks(self) -> Mapping[str, Check]:
        """``discord``: logged in, with the Gateway session delivering events."""
        from bot.discord.readiness import DiscordGatewayCheck

        assert self.bot is not None
        return {"discord": DiscordGatewayCheck(self.bot.client)}

    def serve(self, stop: threading.Event) -> int:
        """Log in, sync ``/faq`` and serve the Gateway until ``stop`` is set;
        then the workers finish the replies in hand (within
        ``SHUTDOWN_DEADLINE_SECONDS``) and the client closes. Returns how many
        rows were handed back to the intake."""
        import aiohttp
        import discord

        bot = self.bot
        assert bot is not None

        async def serve() -> None:
            loop = asyncio.get_running_loop()
            threading.Thread(target=_stop_when_set, args=(stop, loop, bot), name="faq-bot-stop", daemon=True).start()
            await bot.run(self.config.token)

        try:
            asyncio.run(serve())
        except discord.PrivilegedIntentsRequired:
            raise ConfigError(messages.DISCORD_INTENT_DISALLOWED) from None
        except discord.LoginFailure:
            raise ConfigError(messages.DISCORD_STARTUP_REJECTED.format(hint=messages.HINT_DISCORD_TOKEN)) from None
        except (aiohttp.ClientError, OSError) as error:
            raise ServiceError(messages.DISCORD_STARTUP_UNREACHABLE.format(url=self.config.api_url,
                                                                           reason=error)) from None
        except discord.HTTPException as error:
            raise ServiceError(f"Discord refused a start-up request: {error.status} {error.text}") from None
        return bot.handed_back


def _stop_when_set(stop: threading.Event, loop: asyncio.AbstractEventLoop, bot: Any) -> None:
    """Stop ``bot`` on its event loop once ``stop`` is set (by SIGINT/SIGTERM)."""
    stop.wait()
    with contextlib.suppress(RuntimeError):  # the loop has closed: the bot stopped on its own
        loop.call_soon_threadsafe(lambda: loop.create_task(bot.stop()))


def main(argv: list[str] | None = None) -> int:
    """Run the Discord bot; returns the process exit status."""
    argparse.ArgumentParser(prog="python -m bot discord",
                            description="Run the FAQ bot for Discord (settings: see .env.example).").parse_args(argv)
    return run_platform(lambda: DiscordPlatform(DiscordSettings.load()))
