"""desk and agents: appeals, service requests, agent activity and rings; the subscriber the
menu identified on each journalled call

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sa.UnicodeText()
    stamp = sa.DateTime(timezone=True)

    with op.batch_alter_table("call_journal") as batch:
        batch.add_column(sa.Column("subscriber_id", sa.Integer(), nullable=True))

    op.create_table(
        "appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", stamp, nullable=False),
        sa.Column("call_id", text, nullable=True),
        sa.Column("line", text, nullable=True),
        sa.Column("agent", text, nullable=True),
        sa.Column("city", text, nullable=False),
        sa.Column("organisation", text, nullable=False),
        sa.Column("position", text, nullable=True),
        sa.Column("full_name", text, nullable=False),
        sa.Column("contact_phone", text, nullable=False),
        sa.Column("purpose", text, nullable=False),
        sa.Column("status", text, server_default="new", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
    )
    op.create_index(op.f("ix_appeals_created_at"), "appeals", ["created_at"])

    op.create_table(
        "service_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", stamp, nullable=False),
        sa.Column("kind", text, nullable=False),
        sa.Column("call_id", text, nullable=True),
        sa.Column("line", text, nullable=True),
        sa.Column("agent", text, nullable=True),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.Column("contract", text, nullable=True),
        sa.Column("full_name", text, nullable=True),
        sa.Column("address", text, nullable=True),
        sa.Column("contact_phone", text, nullable=True),
        sa.Column("text", text, nullable=False),
        sa.Column("status", text, server_default="new", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_requests")),
    )
    op.create_index(op.f("ix_service_requests_created_at"), "service_requests", ["created_at"])
    op.create_index(op.f("ix_service_requests_kind"), "service_requests", ["kind"])
    op.create_index(
        op.f("ix_service_requests_subscriber_id"), "service_requests", ["subscriber_id"]
    )

    op.create_table(
        "agent_activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent", text, nullable=False),
        sa.Column("state", text, nullable=False),
        sa.Column("reason", text, nullable=True),
        sa.Column("started_at", stamp, nullable=False),
        sa.Column("ended_at", stamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_activity")),
    )
    op.create_index(op.f("ix_agent_activity_agent"), "agent_activity", ["agent"])
    op.create_index(op.f("ix_agent_activity_started_at"), "agent_activity", ["started_at"])

    op.create_table(
        "agent_rings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", stamp, nullable=False),
        sa.Column("agent", text, nullable=False),
        sa.Column("queue", text, nullable=True),
        sa.Column("call_id", text, nullable=True),
        sa.Column("ring_seconds", sa.Double(), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_rings")),
    )
    op.create_index(op.f("ix_agent_rings_at"), "agent_rings", ["at"])
    op.create_index(op.f("ix_agent_rings_agent"), "agent_rings", ["agent"])


def downgrade() -> None:
    for table in ("agent_rings", "agent_activity", "service_requests", "appeals"):
        op.drop_table(table)
    with op.batch_alter_table("call_journal") as batch:
        batch.drop_column("subscriber_id")
