"""Replicas and the pinned revision: which FAQ revision each replica serves.

``replicas`` holds one row per running bot process (its own id), updated at
every reload check: the revision it serves, since when, and the last
revision it refused. ``index_pin`` holds at most one row: the revision
``faq-bot rollback`` pinned every replica to.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "replicas",
        sa.Column("replica_id", sa.String(64), primary_key=True),
        sa.Column("index_name", sa.String(255), nullable=False),
        sa.Column("revision", sa.String(64), nullable=False),
        sa.Column("serving_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    op.create_table(
        "index_pin",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("revision", sa.String(64), nullable=False),
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("index_pin")
    op.drop_table("replicas")
