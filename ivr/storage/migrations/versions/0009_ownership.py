"""ownership: one engine owns each Asterisk's live actions (a lease with expiry), and every
live step is claimed once per call before it runs

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ownership_leases",
        sa.Column("name", sa.UnicodeText(), nullable=False),
        sa.Column("holder", sa.UnicodeText(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_ownership_leases")),
    )
    op.create_table(
        "live_step_claims",
        sa.Column("asterisk", sa.UnicodeText(), nullable=False),
        sa.Column("call_id", sa.UnicodeText(), nullable=False),
        sa.Column("step", sa.UnicodeText(), nullable=False),
        sa.Column("engine", sa.UnicodeText(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("asterisk", "call_id", "step", name=op.f("pk_live_step_claims")),
    )
    op.create_index(op.f("ix_live_step_claims_claimed_at"), "live_step_claims", ["claimed_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_live_step_claims_claimed_at"), table_name="live_step_claims")
    op.drop_table("live_step_claims")
    op.drop_table("ownership_leases")
