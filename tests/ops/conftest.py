"""The Slack bot fixtures (stand-ins, store, engine) serve the operations tests too."""

from tests.bot.conftest import (  # noqa: F401  (fixtures, found by name)
    any_db_url,
    db_url,
    engine,
    pg_url,
    settings,
    slack_api,
    store,
)
