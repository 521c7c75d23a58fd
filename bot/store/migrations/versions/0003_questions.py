"""Record every question the bot saw, with its outcome, for the review loop.

``questions``: one row per question (the intake key is unique, so a retried
piece of work is recorded once), with when, where (platform, workspace or
guild, channel kind), the text (NULL when ``FAQ_RECORD_TEXT=false``), the
outcome, the best FAQ and its confidence, the closest FAQs as JSON, the index
that answered, the question's vector as the engine made it (float16, with its
model, NULL without text: the review clusters without embedding again), the
answer id its buttons carry (which links votes in
``feedback`` to the question) and a pseudonymous asker (a hash, for counting
people; blanked with the text and vector after ``FEEDBACK_RETENTION_DAYS``).

``question_picks``: one row per "Did you mean…?" click, the explicit label of
which FAQ the asker meant, linked to the question by ``answer_id``.

``review_decisions`` and ``review_marks``: what an editor decided about a
cluster of missed questions (accept as phrasings of an FAQ, a new FAQ,
dismiss) and which question texts each decision covers, so a decided
question does not come back in the next review.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "questions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(255), nullable=True, unique=True),
        sa.Column("answer_id", sa.String(64), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("workspace", sa.String(64), nullable=True),
        sa.Column("channel_kind", sa.String(16), nullable=False),
        sa.Column("asker", sa.String(32), nullable=True),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("faq_id", sa.String(128), nullable=True),
        sa.Column("confidence", sa.Float, nullable=True),
        sa.Column("closest", sa.Text, nullable=True),
        sa.Column("index_name", sa.String(255), nullable=True),
        sa.Column("model", sa.String(255), nullable=True),
        sa.Column("vector", sa.LargeBinary, nullable=True),
    )
    op.create_index("ix_questions_asked_at", "questions", ["asked_at"])
    op.create_index("ix_questions_answer_id", "questions", ["answer_id"])
    op.create_table(
        "question_picks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(255), nullable=False, unique=True),
        sa.Column("answer_id", sa.String(64), nullable=False),
        sa.Column("shown_answer_id", sa.String(64), nullable=True),
        sa.Column("faq_id", sa.String(128), nullable=False),
        sa.Column("picked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_question_picks_answer_id", "question_picks", ["answer_id"])
    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("cluster", sa.String(32), nullable=False),
        sa.Column("faq_id", sa.String(128), nullable=True),
        sa.Column("question", sa.Text, nullable=True),
        sa.Column("answer", sa.Text, nullable=True),
        sa.Column("url", sa.Text, nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
    )
    op.create_table(
        "review_marks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("decision_id", sa.Integer, sa.ForeignKey("review_decisions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("text_key", sa.String(64), nullable=False, unique=True),
        sa.Column("text", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("review_marks")
    op.drop_table("review_decisions")
    op.drop_index("ix_question_picks_answer_id", "question_picks")
    op.drop_table("question_picks")
    op.drop_index("ix_questions_answer_id", "questions")
    op.drop_index("ix_questions_asked_at", "questions")
    op.drop_table("questions")
