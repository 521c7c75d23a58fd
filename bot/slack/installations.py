"""Where distribution mode keeps its installations: the bot's own database.

slack_sdk's SQLAlchemy stores do the bookkeeping Bolt's OAuth flow needs
(``slack_installations`` and ``slack_bots``: one row per install, the latest
wins; ``slack_oauth_states``: the ``state`` of each install in progress). The
tables are made by the bot's migrations (revision 0008), not by slack_sdk, so
both SQLite and PostgreSQL get them with the rest of the schema, and the
columns holding tokens are ``TEXT``: sealed tokens are longer than tokens.

:class:`SealedInstallationStore` is slack_sdk's store with those columns
sealed (:mod:`bot.store.sealing`): tokens and refresh tokens are encrypted
before they reach the database and opened when read, so the rest of Bolt
sees plain tokens and the database never does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlsplit

import sqlalchemy
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy.engine import Engine

from bot.store.sealing import SealedText, Sealer

log = logging.getLogger(__name__)

# What the bot asks for when installed: the manifest's bot scopes (tests/slack/test_manifest.py keeps them equal).
BOT_SCOPES = ("app_mentions:read", "chat:write", "commands", "im:history", "channels:history", "groups:history",
              "mpim:history", "users:read")
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
STATE_EXPIRATION_SECONDS = 600  # an install started and not finished within 10 minutes starts again
# The columns that hold secrets, in both tables (where present).
TOKEN_COLUMNS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")


class SealedInstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy installation store, with its token columns sealed by ``sealer``."""

    def __init__(self, client_id: str, engine: Engine, sealer: Sealer) -> None:
        super().__init__(client_id=client_id, engine=engine, logger=log)
        self.sealer = sealer
        self.installed: Callable[[Installation], None] | None = None  # told of each install (OAuth flow)
        for table in (self.bots, self.installations):
            for name in TOKEN_COLUMNS:
                if name in table.c:
                    table.c[name].type = SealedText(sealer)

    def save(self, installation: Installation) -> None:
        """Store an install (Bolt's OAuth flow), then tell :attr:`installed`."""
        super().save(installation)
        if self.installed is not None:
            self.installed(installation)

    def reseal(self) -> int:
        """Seal again, with the first key, the tokens sealed with an older one
        (after a key rotation); returns how many values were. Reads and writes
        the sealed text itself, so nothing is opened that need not be."""
        changed = 0
        for table in (self.bots, self.installations):
            columns = [name for name in TOKEN_COLUMNS if name in table.c]
            raw = sqlalchemy.table(table.name, sqlalchemy.column("id", sqlalchemy.Integer),
                                   *(sqlalchemy.column(name, sqlalchemy.Text) for name in columns))
            with self.engine.begin() as connection:
                for row in connection.execute(sqlalchemy.select(raw)).mappings():
                    fresh = {name: self.sealer.reseal(row[name]) for name in columns
                             if row[name] is not None and self.sealer.needs_resealing(row[name])}
                    if fresh:
                        connection.execute(sqlalchemy.update(raw).where(raw.c.id == row["id"]).values(**fresh))
                        changed += len(fresh)
        return changed


def authorization_url(api_url: str) -> str:
    """Slack's "authorize" page beside the Web API at ``api_url``
    (``https://slack.com/api/`` → ``https://slack.com/oauth/v2/authorize``)."""
    parts = urlsplit(api_url)
    return f"{parts.scheme}://{parts.netloc}/oauth/v2/authorize"


def oauth_settings(*, client_id: str, client_secret: str, engine: Engine, sealer: Sealer, api_url: str,
                   redirect_uri: str | None = None, rotation_minutes: int = 120) -> OAuthSettings:
    """Bolt's OAuth flow for faq-bot: ``/slack/install`` sends the installer
    straight to Slack's consent page, ``/slack/oauth_redirect`` stores the
    bot token (sealed) with the state checked against this database, so any
    replica can finish an install another one started."""
    return OAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=list(BOT_SCOPES),
        redirect_uri=redirect_uri,
        install_path=INSTALL_PATH,
        install_page_rendering_enabled=False,
        redirect_uri_path=REDIRECT_PATH,
        authorization_url=authorization_url(api_url),
        installation_store=SealedInstallationStore(client_id, engine, sealer),
        installation_store_bot_only=True,
        token_rotation_expiration_minutes=rotation_minutes,
        state_store=SQLAlchemyOAuthStateStore(expiration_seconds=STATE_EXPIRATION_SECONDS, engine=engine,
                                              logger=log),
        state_expiration_seconds=STATE_EXPIRATION_SECONDS,
        logger=log,
    )
