"""``python -m bot [PLATFORM] [options]`` (``make run``): start the bot.

The first argument may name the platform; without one it is Slack, so
``python -m bot`` and ``python -m bot --http --port P`` run Slack as they
always did. ``python -m bot discord`` runs Discord, and ``python -m bot auto``
(what ``make run`` does) every platform whose token is set. Each platform is
a sub-package of ``bot`` whose ``main`` module has ``main(argv) -> int``:
this module only chooses which one to run.
"""

from __future__ import annotations

import importlib
import sys

PLATFORMS = {"slack": "bot.slack.main", "discord": "bot.discord.main",
             "auto": "bot.launcher"}  # auto: every platform whose token is set (make run)
DEFAULT_PLATFORM = "slack"


def main(argv: list[str] | None = None) -> int:
    """Run the chosen platform's bot; returns the process exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    platform = args.pop(0) if args and args[0] in PLATFORMS else DEFAULT_PLATFORM
    module = importlib.import_module(PLATFORMS[platform])
    code: int = module.main(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
