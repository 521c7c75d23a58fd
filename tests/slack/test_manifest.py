"""The app manifest matches the code: the events, command and interactivity
the app listens for, Socket Mode on, request URLs on Bolt's ``/slack/events``,
and exactly the bot scopes the code uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.slack.http_server import EVENTS_PATH

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"
# Slack scope each capability needs; the code uses exactly these.
SCOPES_USED = {
    "app_mentions:read",  # app_mention events
    "chat:write",  # chat.postMessage / chat.update
    "commands",  # /faq
    "im:history",  # message.im events; conversations.history/replies in DMs (is a reply already there?)
    "channels:history",  # conversations.replies in public channels, before posting a reply again
    "groups:history",  # ... in private channels
    "mpim:history",  # ... in group DMs
    "users:read",  # users.info: names of people mentioned in a question
}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text())


def test_subscribes_to_what_the_app_listens_for(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_mention", "message.im", "app_home_opened"}
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/faq"
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] and home["messages_tab_enabled"] and not home["messages_tab_read_only_enabled"]


def test_request_urls_use_bolts_default_path(manifest: dict[str, Any]) -> None:
    urls = [manifest["settings"]["event_subscriptions"]["request_url"],
            manifest["settings"]["interactivity"]["request_url"],
            manifest["features"]["slash_commands"][0]["url"]]
    assert all(url.endswith(EVENTS_PATH) for url in urls)


def test_asks_only_for_the_scopes_it_uses(manifest: dict[str, Any]) -> None:
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == SCOPES_USED
    assert "user" not in manifest["oauth_config"]["scopes"]


def test_has_a_name_and_a_bot_user(manifest: dict[str, Any]) -> None:
    assert manifest["display_information"]["name"]
    assert manifest["features"]["bot_user"]["display_name"]


DISTRIBUTION = MANIFEST.with_name("manifest-distribution.yml")


def test_the_distribution_manifest_is_the_same_app_installed_through_oauth(manifest: dict[str, Any]) -> None:
    from bot.slack.installations import BOT_SCOPES, REDIRECT_PATH

    distribution = yaml.safe_load(DISTRIBUTION.read_text())
    assert set(distribution["oauth_config"]["scopes"]["bot"]) == SCOPES_USED == set(BOT_SCOPES)
    assert [url.endswith(REDIRECT_PATH) for url in distribution["oauth_config"]["redirect_urls"]] == [True]
    settings = distribution["settings"]
    assert settings["socket_mode_enabled"] is False and settings["org_deploy_enabled"] is True
    assert set(settings["event_subscriptions"]["bot_events"]) == (
        set(manifest["settings"]["event_subscriptions"]["bot_events"]) | {"app_uninstalled", "tokens_revoked"})
    assert distribution["features"] == manifest["features"]
    assert distribution["display_information"] == manifest["display_information"]
