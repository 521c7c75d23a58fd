"""``python -m bot [PLATFORM] [options]`` (``make run``): start the bot.

The first argument may name the platform; without one it is Slack, so
``python -m bot`` and ``python -m bot --http --port P`` run Slack as they
always did. ``python -m bot discord`` runs Discord, and ``python -m bot auto``
(what ``make run`` does) every platform whose token is set. Each platform is
a sub-package of ``bot`` whose ``main`` module has ``main(argv) -> int``:
this module only chooses which one to run. ``python -m bot --help`` lists the
platforms; ``python -m bot PLATFORM --help`` a platform's options. Neither
reads a setting or a token.
"""

from __future__ import annotations

import argparse
import importlib
import sys

PLATFORMS = {"slack": "bot.slack.main", "discord": "bot.discord.main",
             "auto": "bot.cli.launcher"}  # auto: every platform whose token is set (make run)
DEFAULT_PLATFORM = "slack"
# What each platform does, for --help
ABOUT = {
    "slack": "Slack (the default): Socket Mode with SLACK_APP_TOKEN, or --http with SLACK_SIGNING_SECRET",
    "discord": "Discord: DISCORD_BOT_TOKEN",
    "auto": "every platform whose token is set, each in its own process (what 'make run' does)",
}
HELP = ("-h", "--help")


def overview() -> argparse.ArgumentParser:
    """The help of ``python -m bot`` itself: the platforms and where their options are."""
    return argparse.ArgumentParser(
        prog="python -m bot", usage="%(prog)s [PLATFORM] [options]",
        description="Run the FAQ bot on a chat platform. Settings come from the environment and .env "
                    "(.env.example lists them).",
        epilog="platforms:\n" + "\n".join(f"  {name:<9} {text}" for name, text in ABOUT.items())
               + "\n\n'python -m bot PLATFORM --help' shows a platform's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen platform's bot; returns the process exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in HELP:
        overview().print_help()
        return 0
    platform = args.pop(0) if args and args[0] in PLATFORMS else DEFAULT_PLATFORM
    module = importlib.import_module(PLATFORMS[platform])
    code: int = module.main(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
