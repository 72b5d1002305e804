"""predicted wait: the wait the engine predicted when a caller joined a queue, kept on his
journal row next to the wait he had (how good the prediction is, per queue)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both backends (SQLite >= 3.35 drops a column): a batch copy of the
# table would lose its expression index (ix_call_journal_call_time, 0005).


def upgrade() -> None:
    op.add_column("call_journal", sa.Column("predicted_wait_seconds", sa.Double(), nullable=True))


def downgrade() -> None:
    op.drop_column("call_journal", "predicted_wait_seconds")
