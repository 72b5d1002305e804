"""queues: call_journal answer/talk/escalation columns; callback_requests work queue

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sa.UnicodeText()
    stamp = sa.DateTime(timezone=True)
    seconds = sa.Double()

    with op.batch_alter_table("call_journal") as batch:
        batch.add_column(sa.Column("agent", text, nullable=True))
        batch.add_column(sa.Column("agent_channel", text, nullable=True))
        batch.add_column(sa.Column("answered_at", stamp, nullable=True))
        batch.add_column(sa.Column("wait_seconds", seconds, nullable=True))
        batch.add_column(sa.Column("talk_seconds", seconds, nullable=True))
        batch.add_column(sa.Column("target_met", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("escalations", text, nullable=True))
        batch.add_column(
            sa.Column("over_guideline", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("ended_by", text, nullable=True))
        batch.add_column(sa.Column("abandoned_at", stamp, nullable=True))

    with op.batch_alter_table("callback_requests") as batch:
        batch.add_column(sa.Column("waiting_since", stamp, nullable=True))
        batch.add_column(sa.Column("next_attempt_at", stamp, nullable=True))
        batch.add_column(sa.Column("answered_at", stamp, nullable=True))
    op.create_index(
        op.f("ix_callback_requests_next_attempt_at"),
        "callback_requests",
        ["next_attempt_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_callback_requests_next_attempt_at"), table_name="callback_requests")
    with op.batch_alter_table("callback_requests") as batch:
        batch.drop_column("answered_at")
        batch.drop_column("next_attempt_at")
        batch.drop_column("waiting_since")

    with op.batch_alter_table("call_journal") as batch:
        for column in (
            "abandoned_at",
            "ended_by",
            "over_guideline",
            "escalations",
            "target_met",
            "talk_seconds",
            "wait_seconds",
            "answered_at",
            "agent_channel",
            "agent",
        ):
            batch.drop_column(column)
