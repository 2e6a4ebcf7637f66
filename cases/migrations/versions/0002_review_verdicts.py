"""Review verdicts for training: the reject reason code and the reviewer's boxes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("reject_code", sa.String(32)))
        batch.add_column(sa.Column("reviewed_boxes", sa.JSON))
        batch.add_column(sa.Column("boxes_by", sa.String(100)))
        batch.add_column(sa.Column("boxes_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        for column in ("boxes_at", "boxes_by", "reviewed_boxes", "reject_code"):
            batch.drop_column(column)
