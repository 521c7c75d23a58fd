"""Which FAQ index answers where: one row per platform, workspace and channel.

``channel`` is ``''`` for the workspace's (Slack team, Discord guild) default.
The index is named as ``FAQ_INDEX`` names it, a Hub dataset ``user/name``,
optionally ``@branch-or-commit``, or a local folder.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "routes",
        sa.Column("platform", sa.String(16), primary_key=True),
        sa.Column("workspace", sa.String(64), primary_key=True),
        sa.Column("channel", sa.String(64), primary_key=True),
        sa.Column("index_ref", sa.String(512), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
    )
    # each routed index a replica has loaded, and the revision it serves ('faq-bot status' per index)
    op.create_table(
        "replica_indexes",
        sa.Column("replica_id", sa.String(64), primary_key=True),
        sa.Column("index_ref", sa.String(512), primary_key=True),
        sa.Column("revision", sa.String(64), nullable=False),
        sa.Column("serving_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("replica_indexes")
    op.drop_table("routes")
