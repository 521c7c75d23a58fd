"""``python -m bot [slack] [--http] [--host H] [--port P]`` (``make run``): start the Slack bot.

Checks the Slack settings first (a bad one stops start-up with a sentence
naming it and exit status 2), checks the bot token with Slack, opens the
store (upgrading its schema), loads the FAQ index and the model and embeds
one warm-up question, so the first reply is as fast as the others; only then
do the workers start (finishing whatever an earlier run left in the intake)
and the bot serve over Socket Mode when ``SLACK_APP_TOKEN`` is set, else over
HTTP. Either way ``/healthz``, ``/readyz``, ``/metrics`` and, with
``HUB_WEBHOOK_SECRET``, the Hub webhook are served (Socket Mode: on
``METRICS_PORT``).

SIGINT/SIGTERM stop it cleanly: no new work is taken, the work in flight gets
``SHUTDOWN_DEADLINE_SECONDS`` to finish, what is still running then is handed
back to the intake (another replica or the next start takes it at once), and
the process exits 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from types import FrameType

from bot import messages
from bot.slack.settings import SOCKET_MODE, SlackSettings, check_slack_settings
from faq_core.errors import ConfigError

log = logging.getLogger("bot")

EXIT_CONFIG = 2
EXIT_FAILURE = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot [slack]", description="Run the FAQ bot for Slack.")
    parser.add_argument("--http", action="store_true",
                        help="serve Slack's HTTP requests (needs SLACK_SIGNING_SECRET) instead of Socket Mode")
    parser.add_argument("--host", default="0.0.0.0", help="HTTP mode: address to listen on (default 0.0.0.0)")
    parser.add_argument("--port", type=int, default=3000, help="HTTP mode: port (default 3000)")
    return parser


def _fail(message: str, code: int) -> int:
    print(f"faq-bot: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run the bot; returns the process exit status."""
    args = _parser().parse_args(argv)
    from faq_core.logs import setup_logging

    try:
        settings = SlackSettings.load()
        slack = check_slack_settings(settings, http=args.http)
    except ConfigError as error:
        return _fail(str(error), EXIT_CONFIG)
    setup_logging(settings.log_level, settings.secrets(), settings.log_format)

    from slack_sdk.errors import SlackApiError

    from bot.ops.metrics import Metrics
    from bot.platform import StartupFailure, open_store, warm_engine
    from bot.slack.app import build_app
    from bot.slack.serve import run_http, run_socket_mode
    from bot.slack.web_api import make_web_client

    client = make_web_client(slack.bot_token, settings.slack_api_url)
    try:
        identity = client.auth_test()
    except SlackApiError as error:
        return _fail(messages.STARTUP_REJECTED.format(name="SLACK_BOT_TOKEN", error=error.response.get("error"),
                                                      hint=messages.HINT_BOT_TOKEN), EXIT_CONFIG)
    except OSError as error:
        return _fail(messages.STARTUP_UNREACHABLE.format(url=settings.slack_api_url, reason=error), EXIT_FAILURE)
    log.info("Slack accepted the bot token: bot user %s in team %s", identity.get("user_id"), identity.get("team"))

    try:
        store = open_store(settings)
    except StartupFailure as failure:
        return _fail(str(failure), failure.code)
    try:
        engine = warm_engine(settings)
    except StartupFailure as failure:
        store.close()
        return _fail(str(failure), failure.code)

    from bot.serving.holder import ServingEngine
    from bot.serving.reloading import start_reloading

    serving = ServingEngine(engine)
    reloading = start_reloading(serving, settings, store)
    metrics = Metrics()
    app = build_app(settings, serving, store, client=client, metrics=metrics)
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    deadline = settings.shutdown_deadline_seconds
    try:
        if slack.mode == SOCKET_MODE:
            assert slack.app_token is not None
            try:
                handed = run_socket_mode(app, slack.app_token, stop, engine=serving, store=store, metrics=metrics,
                                         ops_port=settings.metrics_port, deadline=deadline,
                                         routes=reloading.routes if reloading else ())
            except SlackApiError as error:
                return _fail(messages.STARTUP_REJECTED.format(
                    name="SLACK_APP_TOKEN", error=error.response.get("error"), hint=messages.HINT_APP_TOKEN),
                    EXIT_CONFIG)
            except OSError as error:
                return _fail(messages.CANNOT_LISTEN.format(where=f"METRICS_PORT={settings.metrics_port}",
                                                           reason=error.strerror or error), EXIT_FAILURE)
        else:
            try:
                handed = run_http(app, serving, args.host, args.port, stop,
                                  signing_secret=slack.signing_secret or "", store=store, metrics=metrics,
                                  deadline=deadline, routes=reloading.routes if reloading else ())
            except OSError as error:
                return _fail(messages.CANNOT_LISTEN.format(where=f"{args.host}:{args.port}",
                                                           reason=error.strerror or error), EXIT_FAILURE)
    finally:
        if reloading is not None:
            reloading.stop()
        store.close()
    if handed:
        # Threads still work on what was handed back; Python would wait for them at exit. The store has
        # the rows, so leave now (after writing out the log).
        logging.shutdown()
        os._exit(0)
    return 0


