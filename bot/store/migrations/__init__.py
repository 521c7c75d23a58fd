"""The store's schema as Alembic migrations, applied at start-up and by ``faq-bot db upgrade``.

Each file in ``versions/`` is one step. A database made before migrations
existed (the first schema: ``feedback`` and ``processed_events``) is
recognised and stamped at the first revision, then upgraded like any other.
Replicas starting together upgrade one at a time: the whole upgrade runs in
one transaction holding a lock (SQLite's ``BEGIN IMMEDIATE``, PostgreSQL's
advisory lock), and the schema is checked again inside it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

FIRST_REVISION = "0001"
# Any fixed number: the key of the PostgreSQL advisory lock serialising upgrades.
_UPGRADE_LOCK = 720_614_008


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision this code knows."""
    script = ScriptDirectory(str(Path(__file__).parent))
    revision = script.get_current_head()
    assert revision is not None
    return revision


def current(connection: Connection) -> str | None:
    """The revision the database is at (None: never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the database to the newest schema; returns (before, after) revisions."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK})
        before = current(connection)
        config = _config(connection)
        if before is None and inspect(connection).has_table("processed_events"):
            command.stamp(config, FIRST_REVISION)  # made by the code before migrations existed
            before = FIRST_REVISION
        if before != head():
            command.upgrade(config, "head")
            log.info("upgraded the store's schema from %s to %s", before or "nothing", head())
        return before, head()
