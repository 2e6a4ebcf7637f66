"""The forwarding queue to the city's platform (数字城管 / 12345).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.String(36), nullable=False),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", _ts(), nullable=False),
        sa.Column("locked_until", _ts()),
        sa.Column("last_error", sa.String(500)),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("delivered_at", _ts()),
        sa.UniqueConstraint("delivery_id", name="uq_deliveries_delivery_id"),
    )
    for column in ("case_id", "status", "next_attempt_at"):
        op.create_index(f"ix_deliveries_{column}", "deliveries", [column])


def downgrade() -> None:
    op.drop_table("deliveries")
