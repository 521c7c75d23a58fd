"""The Slack bot's settings: the service's and Slack's read with the library's, every error naming its
setting, every secret of every level kept out of ``repr``."""

from __future__ import annotations

import pytest

from bot.slack.settings import SlackSettings
from faq_core.errors import ConfigError


def test_secrets_are_absent_from_repr() -> None:
    secrets = {
        "HF_TOKEN": "hf_secretvalue_1",
        "SLACK_BOT_TOKEN": "xoxb-secretvalue-2",
        "SLACK_APP_TOKEN": "xapp-secretvalue-3",
        "SLACK_SIGNING_SECRET": "signingsecret4",
        "HUB_WEBHOOK_SECRET": "hubwebhooksecret5",
        "ZENDESK_API_TOKEN": "zendesksecret6",
        "INTERCOM_TOKEN": "intercomsecret7",
    }
    settings = SlackSettings.load(secrets)
    text = repr(settings) + str(settings)
    for value in secrets.values():
        assert value not in text
    assert sorted(settings.secrets()) == sorted(secrets.values())


def test_reload_settings() -> None:
    settings = SlackSettings.load({"FAQ_RELOAD_SECONDS": "0.5", "HF_ENDPOINT": "http://127.0.0.1:8080/",
                                   "FAQ_ADMINS": "U0123ABCD,U0456EFGH", "FAQ_INDEX_REVISION": "main"})
    assert (settings.faq_reload_seconds, settings.hf_endpoint) == (0.5, "http://127.0.0.1:8080")
    assert settings.faq_admins == ("U0123ABCD", "U0456EFGH") and settings.faq_index_revision == "main"
    defaults = SlackSettings.load({})
    assert (defaults.faq_reload_seconds, defaults.faq_admins, defaults.hub_webhook_secret) == (60.0, (), None)
    with pytest.raises(ConfigError, match="FAQ_RELOAD_SECONDS must be a positive number of seconds, got '0'"):
        SlackSettings.load({"FAQ_RELOAD_SECONDS": "0"})
    with pytest.raises(ConfigError, match="HF_ENDPOINT must be an http:// or https:// URL"):
        SlackSettings.load({"HF_ENDPOINT": "huggingface.co"})


def test_review_loop_settings_in_slack() -> None:
    settings = SlackSettings.load({"FAQ_ADMINS": " U024BE7LH, W0G9QF9C6 ,", "FAQ_HANDOFF": "S0SUPPORT1",
                                   "FAQ_HANDOFF_TEXT": "Ask in <#C0HELP|help-desk>.", "DIGEST_CHANNEL": "C0DIGEST1",
                                   "DIGEST_EVERY_DAYS": "1"})
    assert settings.faq_admins == ("U024BE7LH", "W0G9QF9C6")
    assert (settings.faq_handoff, settings.faq_handoff_text) == ("S0SUPPORT1", "Ask in <#C0HELP|help-desk>.")
    assert (settings.digest_channel, settings.digest_every_days) == ("C0DIGEST1", 1.0)
    defaults = SlackSettings.load({})
    assert (defaults.faq_admins, defaults.faq_handoff, defaults.digest_channel, defaults.digest_every_days) == (
        (), None, None, 7.0)
    assert SlackSettings.load({"FAQ_HANDOFF": "C0HELPDESK"}).faq_handoff == "C0HELPDESK"


@pytest.mark.parametrize(("name", "value"), [("FAQ_ADMINS", "bob"), ("FAQ_ADMINS", "U024BE7LH,#admins"),
                                             ("FAQ_HANDOFF", "#help-desk"), ("FAQ_HANDOFF", "U024BE7LH"),
                                             ("DIGEST_CHANNEL", "S0SUPPORT1"), ("DIGEST_EVERY_DAYS", "0")])
def test_review_loop_settings_name_what_is_wrong(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        SlackSettings.load({name: value})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLACK_API_URL", "slack.com/api"),
        ("SLACK_API_URL", "https://slack .com/api/"),
        ("METRICS_PORT", "70000"),
        ("METRICS_PORT", "metrics"),
        ("SHUTDOWN_DEADLINE_SECONDS", "0"),
        ("EMBEDDING_TIMEOUT", "soon"),  # the library's settings, read by every platform's
    ],
)
def test_every_error_names_the_setting(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        SlackSettings.load({name: value})
    assert name in str(caught.value)
    assert repr(value) in str(caught.value) or value in str(caught.value)


def test_the_limits_that_are_accepted() -> None:
    assert SlackSettings.load({"METRICS_PORT": "0"}).metrics_port == 0  # any free port
    assert SlackSettings.load({"SLACK_API_URL": "http://127.0.0.1:9/api/"}).slack_api_url == "http://127.0.0.1:9/api/"


def test_setting_names_lists_every_variable_the_slack_bot_reads() -> None:
    names = SlackSettings.names()
    assert {"SLACK_BOT_TOKEN", "DATABASE_URL", "METRICS_PORT", "LOG_FORMAT", "EMBEDDING_URL",
            "SHUTDOWN_DEADLINE_SECONDS", "FAQ_ADMINS"} <= names
    assert all(name.isupper() for name in names)
