"""Hand-offs and digests: things the bot must do once across replicas.

``handoffs``: one row per question passed to a person ("Ask a person"), keyed
by the answer id (unique), with the intake key of the click that claimed it
(its retries go on; another click is told where the question went), the
target channel or user group and the posted message's ts.

``digests``: one row per digest period (unique), inserted by the replica that
sends that period's digest; the others find it taken. ``sent_at`` stays NULL
until the digest is posted, so a replica that died in between is taken over
after a lease.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("answer_id", sa.String(64), nullable=False, unique=True),
        sa.Column("work_key", sa.String(255), nullable=False),
        sa.Column("target", sa.String(32), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_ts", sa.String(32), nullable=True),
    )
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("period", sa.String(32), nullable=False, unique=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ts", sa.String(32), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("digests")
    op.drop_table("handoffs")
