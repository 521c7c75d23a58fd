"""Every stored row scoped by its tenant, and the erasures scheduled per tenant.

Each table that holds what people asked, voted or decided gets ``platform``,
``workspace`` (a Slack team id or a Discord guild id) and ``enterprise`` (a
Slack Grid org id), with an index for reading one tenant's rows
(``questions`` had the first two). Existing rows take the tenant of the
question their answer id belongs to; then, when the store holds questions of
exactly one workspace (a single-workspace deployment), every row still
without one takes that workspace. Rows left NULL belong to "the
single-workspace deployment" (see :mod:`bot.store.scoping`).

Two uniqueness rules become per tenant: one digest per period and one
review decision per question text, each per tenant (an index over the
tenant columns, NULL read as '', so two replicas still elect one sender).

``scheduled_erasures``: one row per tenant whose data is to be deleted
(uninstalled, removed from a guild), from ``due_at`` on; ``done_at`` is set
once nothing of it is left.

Revision ID: 0009
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None

SCOPED = ("intake", "question_picks", "feedback", "button_refs", "handoffs", "review_decisions", "review_marks",
          "digests")
LINKED_BY_ANSWER = ("question_picks", "feedback", "button_refs", "handoffs")
# SQLite's unnamed UNIQUE constraints, named so a batch operation can drop them
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
# (table, column whose uniqueness becomes per tenant)
PER_TENANT = (("digests", "period"), ("review_marks", "text_key"))


def _tenant_key(column: str) -> list[sa.TextClause | str]:
    return [sa.text("COALESCE(platform, '')"), sa.text("COALESCE(workspace, '')"), column]


def upgrade() -> None:
    for name in SCOPED:
        op.add_column(name, sa.Column("platform", sa.String(32), nullable=True))
        op.add_column(name, sa.Column("workspace", sa.String(64), nullable=True))
        op.add_column(name, sa.Column("enterprise", sa.String(64), nullable=True))
    op.add_column("questions", sa.Column("enterprise", sa.String(64), nullable=True))
    for name in (*SCOPED, "questions"):
        op.create_index(f"ix_{name}_tenant", name, ["workspace", "platform"])

    for name in LINKED_BY_ANSWER:
        for field in ("platform", "workspace"):
            op.execute(
                f"UPDATE {name} SET {field} = (SELECT q.{field} FROM questions q "
                f"WHERE q.answer_id = {name}.answer_id AND q.workspace IS NOT NULL ORDER BY q.id LIMIT 1) "
                f"WHERE {name}.workspace IS NULL")
    bind = op.get_bind()
    held = bind.execute(sa.text("SELECT DISTINCT platform, workspace FROM questions "
                                "WHERE workspace IS NOT NULL")).all()
    if len(held) == 1:
        platform, workspace = held[0]
        for name in (*SCOPED, "questions"):
            bind.execute(sa.text(f"UPDATE {name} SET platform = :platform, workspace = :workspace "
                                 "WHERE workspace IS NULL AND (platform IS NULL OR platform = :platform)"),
                         {"platform": platform, "workspace": workspace})

    for name, column in PER_TENANT:
        _drop_unique(name, column)
        op.create_index(f"uq_{name}_tenant_{column}", name, _tenant_key(column), unique=True)

    op.create_table(
        "scheduled_erasures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("workspace", sa.String(64), nullable=True),
        sa.Column("enterprise", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_scheduled_erasures_due", "scheduled_erasures", ["done_at", "due_at"])


def _drop_unique(name: str, column: str) -> None:
    """Drop the UNIQUE constraint on ``column`` alone (0003/0005 made it unnamed; a downgrade of
    this revision names it), whatever each database called it."""
    found = [c["name"] for c in sa.inspect(op.get_bind()).get_unique_constraints(name) if c["column_names"] == [column]]
    constraint = found[0] if found and found[0] else f"uq_{name}_{column}"
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(name, naming_convention=NAMING) as batch:
            batch.drop_constraint(constraint, type_="unique")
    else:
        op.drop_constraint(constraint, name, type_="unique")


def downgrade() -> None:
    op.drop_index("ix_scheduled_erasures_due", "scheduled_erasures")
    op.drop_table("scheduled_erasures")
    for name, column in PER_TENANT:
        op.drop_index(f"uq_{name}_tenant_{column}", name)
        # one row per value again: a second tenant's row of the same period or text goes
        op.execute(f"DELETE FROM {name} WHERE id NOT IN (SELECT MIN(id) FROM {name} GROUP BY {column})")
        with op.batch_alter_table(name, naming_convention=NAMING) as batch:
            batch.create_unique_constraint(f"{name}_{column}_key", [column])
    for name in (*SCOPED, "questions"):
        op.drop_index(f"ix_{name}_tenant", name)
    with op.batch_alter_table("questions") as batch:
        batch.drop_column("enterprise")
    for name in SCOPED:
        with op.batch_alter_table(name) as batch:
            batch.drop_column("enterprise")
            batch.drop_column("workspace")
            batch.drop_column("platform")
