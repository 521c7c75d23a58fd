"""``python -m bot discord``: start the Discord bot.

Checks ``DISCORD_BOT_TOKEN`` first (missing or malformed: one sentence naming
it, exit status 2), opens the store and warms the model, starts following
the FAQ revision (``FAQ_INDEX_REVISION``, a local folder, a rollback pin;
:mod:`bot.reloading`), then logs in (a token Discord rejects with 401: the
same, exit 2), syncs ``/faq`` and serves the Gateway. SIGINT/SIGTERM close the
client and drain the workers. Discord needs no HTTP port, so the Hub webhook
is not served here: a Discord replica polls every ``FAQ_RELOAD_SECONDS``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import TYPE_CHECKING

from bot import messages
from faq_core.errors import ConfigError

if TYPE_CHECKING:
    from bot.discord.app import DiscordBot

log = logging.getLogger("bot")

EXIT_CONFIG = 2
EXIT_FAILURE = 1


def _fail(message: str, code: int) -> int:
    print(f"faq-bot: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run the Discord bot; returns the process exit status."""
    argparse.ArgumentParser(prog="python -m bot discord",
                            description="Run the FAQ bot for Discord (settings: see .env.example).").parse_args(argv)
    from bot.discord.config import check_discord_settings
    from faq_core.logs import setup_logging
    from faq_core.settings import load_settings

    try:
        settings = load_settings()
        config = check_discord_settings(settings)
    except ConfigError as error:
        return _fail(str(error), EXIT_CONFIG)
    setup_logging(settings.log_level, settings.secrets())

    try:
        import aiohttp
        import discord
        from discord.http import Route
    except ImportError:
        return _fail("discord.py is not installed: pip install 'faq-bot[discord]'", EXIT_CONFIG)

    from bot.discord.app import DiscordBot
    from bot.startup import StartupFailure, open_store, warm_engine

    Route.BASE = config.api_url  # every REST call, interaction callbacks and webhooks included
    try:
        store = open_store(settings)
    except StartupFailure as failure:
        return _fail(str(failure), failure.code)
    from bot.reloading import start_reloading
    from faq_core.serving import ServingEngine

    reloading = None
    try:
        serving = ServingEngine(warm_engine(settings))
        reloading = start_reloading(serving, settings, store)
        if reloading is not None and reloading.routes:
            log.warning("HUB_WEBHOOK_SECRET is set, but the Discord bot serves no HTTP port for the Hub "
                        "webhook: it checks for a new FAQ revision every %g s instead", settings.faq_reload_seconds)
        bot = DiscordBot(settings, serving, store, guild_ids=config.guild_ids)

        async def serve() -> None:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, _stop, bot, signum)
            await bot.run(config.token)

        asyncio.run(serve())
    except StartupFailure as failure:
        return _fail(str(failure), failure.code)
    except discord.PrivilegedIntentsRequired:
        return _fail(messages.DISCORD_INTENT_DISALLOWED, EXIT_CONFIG)
    except discord.LoginFailure:
        return _fail(messages.DISCORD_STARTUP_REJECTED.format(hint=messages.HINT_DISCORD_TOKEN), EXIT_CONFIG)
    except (aiohttp.ClientError, OSError) as error:
        return _fail(messages.DISCORD_STARTUP_UNREACHABLE.format(url=config.api_url, reason=error), EXIT_FAILURE)
    except discord.HTTPException as error:
        return _fail(f"Discord refused a start-up request: {error.status} {error.text}", EXIT_FAILURE)
    finally:
        if reloading is not None:
            reloading.stop()
        store.close()
    return 0


def _stop(bot: DiscordBot, signum: int) -> None:
    log.info("received %s, stopping", signal.Signals(signum).name)
    asyncio.get_running_loop().create_task(bot.stop())
