"""The Slack bot's fixtures (its stand-ins and settings) serve the operations tests too: the operations
endpoints are checked through the Slack bot, the reference platform."""

from tests.slack.conftest import settings, slack_api  # noqa: F401  (fixtures, found by name)
