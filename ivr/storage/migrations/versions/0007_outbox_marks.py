"""outbox marks: the last outbox event each writer applied, per spool, so events replayed
from the local outbox after a crash are applied once

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox_marks",
        sa.Column("spool_id", sa.UnicodeText(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("spool_id", name=op.f("pk_outbox_marks")),
    )


def downgrade() -> None:
    op.drop_table("outbox_marks")
