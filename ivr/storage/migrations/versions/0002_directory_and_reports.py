"""subscriber directory, outage board, reports; call_journal.finished_in_menu_at

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sa.UnicodeText()
    stamp = sa.DateTime(timezone=True)

    with op.batch_alter_table("call_journal") as batch:
        batch.add_column(sa.Column("finished_in_menu_at", stamp, nullable=True))

    op.create_table(
        "subscribers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract", text, nullable=False),
        sa.Column("full_name", text, nullable=False),
        sa.Column("address", text, nullable=False),
        sa.Column("city", text, nullable=False),
        sa.Column("region_office", text, nullable=False),
        sa.Column("created_at", stamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscribers")),
        sa.UniqueConstraint("contract", name=op.f("uq_subscribers_contract")),
    )
    op.create_table(
        "subscriber_phones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("phone", text, nullable=False),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_subscriber_phones_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriber_phones")),
        sa.UniqueConstraint(
            "subscriber_id", "phone", name=op.f("uq_subscriber_phones_subscriber_id")
        ),
    )
    op.create_index(
        op.f("ix_subscriber_phones_phone"), "subscriber_phones", ["phone"], unique=False
    )
    op.create_table(
        "outages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area", text, nullable=False),
        sa.Column("service", text, server_default="", nullable=False),
        sa.Column("message", text, nullable=False),
        sa.Column("starts_at", stamp, nullable=False),
        sa.Column("expected_restore", stamp, nullable=True),
        sa.Column("ended_at", stamp, nullable=True),
        sa.Column("created_at", stamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outages")),
    )
    op.create_table(
        "unreachable_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", stamp, nullable=False),
        sa.Column("call_id", text, nullable=True),
        sa.Column("reported_line", text, nullable=True),
        sa.Column("via_line", text, nullable=True),
        sa.Column("published", text, nullable=True),
        sa.Column("dialled_from", text, nullable=True),
        sa.Column("problem", text, nullable=True),
        sa.Column("caller", text, nullable=True),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.Column("contract", text, nullable=True),
        sa.Column("full_name", text, nullable=True),
        sa.Column("address", text, nullable=True),
        sa.Column("details", text, nullable=True),
        sa.Column("source", text, nullable=True),
        sa.Column("status", text, server_default="new", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unreachable_reports")),
    )
    op.create_index(
        op.f("ix_unreachable_reports_reported_line"),
        "unreachable_reports",
        ["reported_line"],
        unique=False,
    )
    op.create_table(
        "meter_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", stamp, nullable=False),
        sa.Column("call_id", text, nullable=True),
        sa.Column("line", text, nullable=True),
        sa.Column("caller", text, nullable=True),
        sa.Column("contract", text, nullable=True),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.Column("reading", text, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_readings")),
    )
    op.create_index(
        op.f("ix_meter_readings_contract"), "meter_readings", ["contract"], unique=False
    )
    op.create_table(
        "callback_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", stamp, nullable=False),
        sa.Column("call_id", text, nullable=True),
        sa.Column("line", text, nullable=True),
        sa.Column("phone", text, nullable=True),
        sa.Column("name", text, nullable=True),
        sa.Column("queue", text, nullable=True),
        sa.Column("caller_class", text, nullable=True),
        sa.Column("promised_by", stamp, nullable=True),
        sa.Column("status", text, server_default="open", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_attempt_at", stamp, nullable=True),
        sa.Column("outcome", text, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_requests")),
    )
    op.create_index(
        op.f("ix_callback_requests_status"), "callback_requests", ["status"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_callback_requests_status"), table_name="callback_requests")
    op.drop_table("callback_requests")
    op.drop_index(op.f("ix_meter_readings_contract"), table_name="meter_readings")
    op.drop_table("meter_readings")
    op.drop_index(op.f("ix_unreachable_reports_reported_line"), table_name="unreachable_reports")
    op.drop_table("unreachable_reports")
    op.drop_table("outages")
    op.drop_index(op.f("ix_subscriber_phones_phone"), table_name="subscriber_phones")
    op.drop_table("subscriber_phones")
    op.drop_table("subscribers")
    with op.batch_alter_table("call_journal") as batch:
        batch.drop_column("finished_in_menu_at")
