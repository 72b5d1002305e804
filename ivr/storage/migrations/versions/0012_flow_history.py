"""flow history: every accepted flows/ version (who, when, files, diff); the keys each
caller pressed, journalled for `ivr flow replay`

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flow_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("who", sa.UnicodeText(), nullable=False),
        sa.Column("changed", sa.UnicodeText(), nullable=False),
        sa.Column("digest", sa.UnicodeText(), nullable=False),
        sa.Column("files", sa.UnicodeText(), nullable=False),
        sa.Column("diff", sa.UnicodeText(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_versions")),
    )
    op.create_index(op.f("ix_flow_versions_at"), "flow_versions", ["at"])
    op.create_index(op.f("ix_flow_versions_digest"), "flow_versions", ["digest"])
    # Plain ALTER TABLE (SQLite has ADD/DROP COLUMN): a batch copy of the table would lose
    # the expression index ix_call_journal_call_time, which SQLAlchemy cannot reflect.
    op.add_column("call_journal", sa.Column("keys", sa.UnicodeText(), nullable=True))


def downgrade() -> None:
    op.drop_column("call_journal", "keys")
    op.drop_index(op.f("ix_flow_versions_digest"), table_name="flow_versions")
    op.drop_index(op.f("ix_flow_versions_at"), table_name="flow_versions")
    op.drop_table("flow_versions")
