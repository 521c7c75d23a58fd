"""What an answer's buttons stand for, for platforms whose buttons are too small.

A Discord button's ``custom_id`` holds 100 characters, too few for the
question and matches a Slack button carries in its value; Discord's buttons
carry the answer id and this table the rest.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "button_refs",
        sa.Column("answer_id", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("button_refs")
