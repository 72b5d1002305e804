"""supervision log: every time a supervisor listened to, whispered into or barged into a
live call (who, when, which call, which phone)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "supervision_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.UnicodeText(), nullable=False),
        sa.Column("call_id", sa.UnicodeText(), nullable=False),
        sa.Column("agent", sa.UnicodeText(), nullable=False),
        sa.Column("mode", sa.UnicodeText(), nullable=False),
        sa.Column("phone", sa.UnicodeText(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_log")),
    )
    op.create_index(op.f("ix_supervision_log_at"), "supervision_log", ["at"])
    op.create_index(op.f("ix_supervision_log_call_id"), "supervision_log", ["call_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_supervision_log_call_id"), table_name="supervision_log")
    op.drop_index(op.f("ix_supervision_log_at"), table_name="supervision_log")
    op.drop_table("supervision_log")
