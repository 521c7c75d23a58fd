"""``python -m bot.ops.healthcheck [URL]``: exit 0 when the bot is ready, else 1.

For a container's ``HEALTHCHECK`` (the slim image has no curl): GETs ``URL``,
by default ``http://127.0.0.1:$METRICS_PORT/readyz`` (Socket Mode's
operations port; HTTP mode passes its own port's ``/readyz``). On failure
it prints the readiness reasons in one line, which ``docker inspect`` shows.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request

# bot.ops.http.READY_PATH and Settings().metrics_port (a test checks both): importing them would
# load the whole bot (numpy, the engine) at every probe.
READY_PATH = "/readyz"
DEFAULT_METRICS_PORT = 9464
TIMEOUT_SECONDS = 5


def default_url() -> str:
    """Readiness on this machine's ``METRICS_PORT``."""
    return f"http://127.0.0.1:{os.environ.get('METRICS_PORT') or DEFAULT_METRICS_PORT}{READY_PATH}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    url = args[0] if args else default_url()
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            response.read()
        return 0
    except urllib.error.HTTPError as error:
        try:
            checks = json.loads(error.read()).get("checks", {})
            reasons = "; ".join(f"{name}: {why}" for name, why in checks.items() if why != "ok")
        except (ValueError, AttributeError):
            reasons = ""
        print(f"not ready (HTTP {error.code}){': ' + reasons if reasons else ''}")
    except (urllib.error.URLError, OSError) as error:
        print(f"no answer from {url}: {getattr(error, 'reason', error)}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
