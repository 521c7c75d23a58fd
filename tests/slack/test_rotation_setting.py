"""SLACK_TOKEN_ROTATION_MINUTES: how long before a rotating bot token expires
Bolt refreshes it. Slack's rotating tokens live 12 hours, so a lead of 720
minutes or more would refresh the token on every request: refused at start."""

from __future__ import annotations

import pytest

from bot.slack.settings import SlackSettings
from faq_core.errors import ConfigError


@pytest.mark.parametrize("value", ["720", "99999999999999999999999", "0", "-5", "2.5", "ten"])
def test_a_lead_that_is_not_within_a_tokens_twelve_hours_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match=f"SLACK_TOKEN_ROTATION_MINUTES must be a whole number of minutes "
                                          f"from 1 to 719 .*, got '{value}'"):
        SlackSettings.load({"SLACK_TOKEN_ROTATION_MINUTES": value})


@pytest.mark.parametrize("value", ["1", "120", "719"])
def test_a_lead_within_the_twelve_hours_is_kept(value: str) -> None:
    assert SlackSettings.load({"SLACK_TOKEN_ROTATION_MINUTES": value}).slack_token_rotation_minutes == int(value)
