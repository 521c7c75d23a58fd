"""The first schema: feedback votes and the claims of answered events.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("answer_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("faq_id", sa.String(128), nullable=True),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("channel_id", sa.String(64), nullable=True),
        sa.Column("vote", sa.String(16), nullable=False),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("answer_id", "user_id", name="one_vote_per_user_per_answer"),
    )
    op.create_table(
        "processed_events",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("claimed_at", sa.Float, nullable=False),
        sa.Column("done_at", sa.Float, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("processed_events")
    op.drop_table("feedback")
