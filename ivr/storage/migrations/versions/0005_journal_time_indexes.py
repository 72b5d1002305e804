"""journal time indexes: when a call happened (the service level windows) and when it was
answered (the agent KPI windows), so the live dashboard's queries stop scanning the journal

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The same expression as ivr.storage.service_level.CALL_TIME: the planners use an
    # expression index only for a query that repeats it (SQLite >= 3.9, PostgreSQL).
    call_time = sa.func.coalesce(
        sa.column("started_at"),
        sa.column("queued_at"),
        sa.column("answered_at"),
        sa.column("abandoned_at"),
    )
    op.create_index("ix_call_journal_call_time", "call_journal", [call_time])
    op.create_index(op.f("ix_call_journal_answered_at"), "call_journal", ["answered_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_call_journal_answered_at"), table_name="call_journal")
    op.drop_index("ix_call_journal_call_time", table_name="call_journal")
