"""outage alerts: suspected mass outages (a spike of calls per city, line and first menu
choice) for supervisors to post as an outage or dismiss

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outage_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("city", sa.UnicodeText(), nullable=False),
        sa.Column("line", sa.UnicodeText(), nullable=False),
        sa.Column("choice", sa.UnicodeText(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("usual", sa.Double(), nullable=False),
        sa.Column("window", sa.Double(), nullable=False),
        sa.Column("message", sa.UnicodeText(), nullable=False),
        sa.Column("language", sa.UnicodeText(), nullable=False),
        sa.Column("status", sa.UnicodeText(), server_default="open", nullable=False),
        sa.Column("subsided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handled_by", sa.UnicodeText(), nullable=True),
        sa.Column("outage_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outage_alerts")),
    )
    op.create_index(op.f("ix_outage_alerts_raised_at"), "outage_alerts", ["raised_at"])
    op.create_index(op.f("ix_outage_alerts_status"), "outage_alerts", ["status"])
    spike_on = sa.column("subsided_at").is_(None)
    op.create_index(
        "uq_outage_alerts_spike_on",
        "outage_alerts",
        ["city", "line", "choice"],
        unique=True,
        sqlite_where=spike_on,
        postgresql_where=spike_on,
    )


def downgrade() -> None:
    op.drop_index("uq_outage_alerts_spike_on", table_name="outage_alerts")
    op.drop_index(op.f("ix_outage_alerts_status"), table_name="outage_alerts")
    op.drop_index(op.f("ix_outage_alerts_raised_at"), table_name="outage_alerts")
    op.drop_table("outage_alerts")
