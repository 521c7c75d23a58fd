"""``python -m bot [slack] [--http] [--host H] [--port P]`` (``make run``): the Slack bot.

:class:`SlackPlatform` is Slack's :class:`~bot.platform.Platform`; the core
runs it (:func:`~bot.platform.run_platform`). Its settings are checked first
(a bad one stops start-up with a sentence naming it, exit status 2), then
Slack is asked whether it accepts the bot token (``auth.test``); the app is
served over Socket Mode when ``SLACK_APP_TOKEN`` is set (the operations
endpoints on ``METRICS_PORT``), else over HTTP (they are served beside
Slack's requests, with the Hub webhook when ``HUB_WEBHOOK_SECRET`` is set).
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot import messages
from bot.platform import Core, run_platform
from bot.slack.settings import HTTP_MODE, SOCKET_MODE, SlackSettings, check_slack_settings
from faq_core.errors import ConfigError, FAQBotError, ServiceError

if TYPE_CHECKING:
    from bot.ops.readiness import Check

log = logging.getLogger("bot")

PLATFORM = "slack"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot [slack]", description="Run the FAQ bot for Slack.")
    parser.add_argument("--http", action="store_true",
                        help="serve Slack's HTTP requests (needs SLACK_SIGNING_SECRET) instead of Socket Mode")
    parser.add_argument("--host", default="0.0.0.0", help="HTTP mode: address to listen on (default 0.0.0.0)")
    parser.add_argument("--port", type=int, default=3000, help="HTTP mode: port (default 3000)")
    return parser


class SlackPlatform:
    """Slack over Socket Mode or HTTP, as the core runs a platform."""

    name = PLATFORM

    def __init__(self, settings: SlackSettings, *, http: bool = False, host: str = "0.0.0.0", port: int = 3000) -> None:
        self.settings = settings
        self.config = check_slack_settings(settings, http=http)
        self.serves_operations = self.config.mode == HTTP_MODE
        self.host, self.port = host, port
        from bot.slack.web_api import WEB_TIMEOUT, api_base_url, make_web_client

        if self.config.bot_token is None:  # distribution mode: each installation has its own; none to check here
            from slack_sdk import WebClient

            self.client = WebClient(base_url=api_base_url(settings.slack_api_url), timeout=WEB_TIMEOUT)
        else:
            self.client = make_web_client(self.config.bot_token, settings.slack_api_url)
        self.app: Any = None
        self.handler: Any = None
        self.core: Core | None = None

    def connect(self) -> None:
        """Slack must accept the bot token (``auth.test``); in distribution mode
        there is none (each installation's is checked as its requests come)."""
        from slack_sdk.errors import SlackApiError

        if self.config.distribution:
            log.info("distribution mode: workspaces install faq-bot at /slack/install")
            return
        try:
            identity = self.client.auth_test()
        except (SlackApiError, OSError) as error:
            raise self._refused("SLACK_BOT_TOKEN", messages.HINT_BOT_TOKEN, error) from None
        log.info("Slack accepted the bot token: bot user %s in team %s", identity.get("user_id"), identity.get("team"))

    def _refused(self, token: str, hint: str, error: Exception) -> FAQBotError:
        """Why Slack did not take ``token``: it refused it (a setting to fix), or it could not be reached."""
        from slack_sdk.errors import SlackApiError

        if isinstance(error, OSError):
            return ServiceError(messages.STARTUP_UNREACHABLE.format(url=self.settings.slack_api_url, reason=error))
        code = error.response.get("error") if isinstance(error, SlackApiError) else None
        return ConfigError(messages.STARTUP_REJECTED.format(name=token, error=code, hint=hint))

    def start(self, core: Core) -> None:
        """The Bolt app and its workers; in Socket Mode, the handler that will connect."""
        from bot.slack.app import build_app
        from bot.slack.serve import CheckedSocketModeHandler

        self.core = core
        self.app = build_app(self.settings, core.serving, core.store, client=self.client, metrics=core.metrics,
                             routing=core.routing)
        if self.config.mode == SOCKET_MODE:
            self.handler = CheckedSocketModeHandler(self.app, app_token=self.config.app_token)

    def checks(self) -> Mapping[str, Check]:
        """``slack`` (the Web API accepts the token) and, in Socket Mode, ``socket_mode`` (the connection is open)."""
        from bot.slack.readiness import SlackCheck, SocketModeCheck

        checks: dict[str, Check] = {"slack": SlackCheck(self.client, token=not self.config.distribution)}
        if self.handler is not None:
            checks["socket_mode"] = SocketModeCheck(self.handler.client)
        return checks

    def serve(self, stop: threading.Event) -> int:
        """Over Socket Mode, or HTTP on ``--host:--port``, until ``stop``."""
        from slack_sdk.errors import SlackApiError

        from bot.slack.serve import run_http, run_socket_mode

        assert self.core is not None
        deadline = self.settings.shutdown_deadline_seconds
        if self.handler is not None:
            try:
                return run_socket_mode(self.handler, stop, deadline=deadline)
            except (SlackApiError, OSError) as error:
                raise self._refused("SLACK_APP_TOKEN", messages.HINT_APP_TOKEN, error) from None
        try:
            return run_http(self.app, self.core.serving, self.host, self.port, stop,
                            signing_secret=self.config.signing_secret or "", store=self.core.store,
                            readiness=self.core.readiness, metrics=self.core.metrics, deadline=deadline,
                            routes=self.core.routes)
        except OSError as error:
            raise ServiceError(messages.CANNOT_LISTEN.format(where=f"{self.host}:{self.port}",
                                                             reason=error.strerror or error)) from None


def main(argv: list[str] | None = None) -> int:
    """Run the Slack bot; returns the process exit status."""
    args = _parser().parse_args(argv)
    return run_platform(lambda: SlackPlatform(SlackSettings.load(), http=args.http, host=args.host, port=args.port))
