"""The Slack bot's fixtures (its stand-ins and settings) serve the service tests too: what the core does
end to end (recording, replicas, the digest) is checked through the Slack bot, the reference platform."""

from tests.slack.conftest import bot, settings, slack_api  # noqa: F401  (fixtures, found by name)
