"""``python -m bot discord``: start the Discord bot.

Checks ``DISCORD_BOT_TOKEN`` first (missing or malformed: one sentence naming
it, exit status 2), opens the store and warms the model, starts following
the FAQ revision (``FAQ_INDEX_REVISION``, a local folder, a rollback pin;
:mod:`bot.serving.reloading`), serves the operations endpoints on ``METRICS_PORT``
(``/healthz``, ``/readyz`` with the Gateway check, ``/metrics`` and, with
``HUB_WEBHOOK_SECRET``, the Hub webhook; a port in use: one line, exit 1),
then logs in (a token Discord rejects with 401: the same, exit 2), syncs
``/faq`` and serves the Gateway. SIGINT/SIGTERM close the client and drain
the workers.
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
    from bot.discord.settings import DiscordSettings, check_discord_settings
    from faq_core.logs import setup_logging

    try:
        settings = DiscordSettings.load()
        config = check_discord_settings(settings)
    except ConfigError as error:
        return _fail(str(error), EXIT_CONFIG)
    setup_logging(settings.log_level, settings.secrets(), settings.log_format)

    try:
        import aiohttp
        import discord
        from discord.http import Route
    except ImportError:
        return _fail("discord.py is not installed: pip install 'faq-bot[discord]'", EXIT_CONFIG)

    from bot.discord.app import DiscordBot
    from bot.ops.http import start_ops_server
    from bot.ops.metrics import Metrics
    from bot.platform import StartupFailure, open_store, warm_engine

    Route.BASE = config.api_url  # every REST call, interaction callbacks and webhooks included
    try:
        store = open_store(settings)
    except StartupFailure as failure:
        return _fail(str(failure), failure.code)
    from bot.serving.holder import ServingEngine
    from bot.serving.reloading import start_reloading

    reloading = None
    ops = None
    try:
        serving = ServingEngine(warm_engine(settings))
        reloading = start_reloading(serving, settings, store)
        metrics = Metrics()
        bot = DiscordBot(settings, serving, store, guild_ids=config.guild_ids, metrics=metrics)
        try:
            ops = start_ops_server(serving, bot.readiness(), metrics, host="0.0.0.0", port=settings.metrics_port,
                                   routes=reloading.routes if reloading else ())
        except OSError as error:
            return _fail(messages.CANNOT_LISTEN.format(where=f"METRICS_PORT={settings.metrics_port}",
                                                       reason=error.strerror or error), EXIT_FAILURE)

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
        if ops is not None:
            ops.close()
        if reloading is not None:
            reloading.stop()
        store.close()
    return 0


def _stop(bot: DiscordBot, signum: int) -> None:
    log.info("received %s, stopping", signal.Signals(signum).name)
    asyncio.get_running_loop().create_task(bot.stop())
