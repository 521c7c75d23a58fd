"""The durable intake replaces the claims table.

Every accepted event, command or click is now a row of ``intake`` before it
is acknowledged. The keys of events already answered are carried over as
finished rows, so Slack's retries of them are still recognised.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(255), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.Float, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("done_at", sa.Float, nullable=True),
    )
    op.create_index("ix_intake_state_id", "intake", ["state", "id"])
    # A claim never finished belonged to a process that died: with no payload it cannot be
    # worked again, so it is carried over as finished too (the old code did not answer it either).
    op.execute(
        "INSERT INTO intake (key, kind, payload, state, owner, lease_until, attempts, received_at, done_at) "
        "SELECT key, kind, '', 'done', owner, 0, 1, claimed_at, COALESCE(done_at, claimed_at) "
        "FROM processed_events ORDER BY claimed_at"
    )
    op.drop_table("processed_events")


def downgrade() -> None:
    op.create_table(
        "processed_events",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("claimed_at", sa.Float, nullable=False),
        sa.Column("done_at", sa.Float, nullable=True),
    )
    op.execute(
        "INSERT INTO processed_events (key, kind, owner, claimed_at, done_at) "
        "SELECT key, kind, COALESCE(owner, ''), received_at, done_at FROM intake"
    )
    op.drop_index("ix_intake_state_id", "intake")
    op.drop_table("intake")
