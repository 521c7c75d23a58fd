"""``python -m bot auto`` (``make run``): start every platform whose token is set.

Each platform runs as its own ``python -m bot <platform>`` child process (one
event loop or server each, and one failing does not take the other down with
it half-started). SIGINT/SIGTERM are passed on; the exit status is the first
non-zero one of the children, or 0. Both serve their operations endpoints on
``METRICS_PORT``: when both run, Discord's take the next port (said once).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from types import FrameType

from bot.discord.settings import DiscordSettings
from bot.platform import fail
from bot.settings import BotSettings
from bot.slack.settings import SlackSettings
from faq_core.errors import ConfigError, FAQBotError

# platform -> its settings and the settings whose presence means "run it" (any of them)
PLATFORMS: dict[str, tuple[type[BotSettings], tuple[str, ...]]] = {
    "slack": (SlackSettings, ("slack_bot_token", "slack_client_id")),  # token mode, or distribution mode
    "discord": (DiscordSettings, ("discord_bot_token",)),
}


def platforms_to_run() -> tuple[list[str], int]:
    """The platforms whose bot token (Slack: or app credentials) is set, in a
    fixed order, and ``METRICS_PORT``. Each platform's settings are read
    whole, so a malformed one is said here."""
    chosen, port = [], 0
    for platform, (kind, names) in PLATFORMS.items():
        settings = kind.load()
        port = settings.metrics_port
        if any(getattr(settings, name) for name in names):
            chosen.append(platform)
    return chosen, port


def ops_ports(chosen: list[str], metrics_port: int) -> dict[str, int]:
    """Each platform's ``METRICS_PORT``: one port each (``0``, any free port, stays ``0``)."""
    return {platform: metrics_port + i if metrics_port else 0 for i, platform in enumerate(chosen)}


def main(argv: list[str] | None = None) -> int:
    """Start the platforms with tokens; returns the process exit status."""
    argparse.ArgumentParser(
        prog="python -m bot auto",
        description="Run the FAQ bot on every platform whose token is set (SLACK_BOT_TOKEN: Slack in Socket Mode; "
                    "SLACK_CLIENT_ID: Slack in distribution mode, over HTTP; DISCORD_BOT_TOKEN: Discord), each as "
                    "its own 'python -m bot PLATFORM' process: what 'make run' does. For Slack's HTTP mode run "
                    "'python -m bot slack --http'.").parse_args(argv)
    try:
        chosen, metrics_port = platforms_to_run()
        if not chosen:
            raise ConfigError("neither SLACK_BOT_TOKEN nor DISCORD_BOT_TOKEN is set: set one in .env "
                              "(see docs/slack.md and docs/discord.md).")
    except FAQBotError as error:
        return fail(error)
    ports = ops_ports(chosen, metrics_port)
    if len(chosen) > 1 and metrics_port:
        print("faq-bot: operations endpoints: " + ", ".join(f"{p} on port {ports[p]}" for p in chosen),
              file=sys.stderr)
    children = [subprocess.Popen([sys.executable, "-m", "bot", platform],
                                 env={**os.environ, "METRICS_PORT": str(ports[platform])}) for platform in chosen]

    def _pass_on(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGINT, _pass_on)
    signal.signal(signal.SIGTERM, _pass_on)
    codes = [child.wait() for child in children]
    return next((code for code in codes if code), 0)
