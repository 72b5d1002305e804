"""live state: each Asterisk's owner writes what it sees live (waiting callers, talks,
agents) about once a second, for every engine's dashboard, API and /metrics

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_state",
        sa.Column("asterisk", sa.UnicodeText(), nullable=False),
        sa.Column("engine", sa.UnicodeText(), nullable=False),
        sa.Column("written_at", sa.Double(), nullable=False),
        sa.Column("payload", sa.UnicodeText(), nullable=False),
        sa.PrimaryKeyConstraint("asterisk", name=op.f("pk_live_state")),
    )


def downgrade() -> None:
    op.drop_table("live_state")
