"""call journal: one row per call

Revision ID: 0001
Revises:
Create Date: 2024-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sa.UnicodeText()
    stamp = sa.DateTime(timezone=True)
    op.create_table(
        "call_journal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", text, nullable=False),
        sa.Column("line", text, nullable=True),
        sa.Column("caller", text, nullable=True),
        sa.Column("channel", text, nullable=True),
        sa.Column("started_at", stamp, nullable=True),
        sa.Column("routed_at", stamp, nullable=True),
        sa.Column("queue", text, nullable=True),
        sa.Column("caller_class", text, nullable=True),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("menu_path", text, nullable=True),
        sa.Column("fell_back", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("fallback_reason", text, nullable=True),
        sa.Column("queued_at", stamp, nullable=True),
        sa.Column("ended_at", stamp, nullable=True),
        sa.Column("hangup_cause", text, nullable=True),
        sa.Column("outcome", text, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_journal")),
    )
    op.create_index(op.f("ix_call_journal_call_id"), "call_journal", ["call_id"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_call_journal_call_id"), table_name="call_journal")
    op.drop_table("call_journal")
