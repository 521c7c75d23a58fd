"""``python -m bot [PLATFORM] [options]`` (``make run``): :mod:`bot.cli.run`."""

import sys

from bot.cli.run import main

if __name__ == "__main__":
    sys.exit(main())
