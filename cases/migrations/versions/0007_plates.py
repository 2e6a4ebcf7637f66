"""The parked vehicle's plate on parking cases (text, kind, confidence, read/unread, where).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("plate_status", sa.String(8)))  # read | unread; null: never read
        batch.add_column(sa.Column("plate_text", sa.String(8)))
        batch.add_column(sa.Column("plate_kind", sa.String(16)))
        batch.add_column(sa.Column("plate_confidence", sa.Float))
        batch.add_column(sa.Column("plate_frame", sa.String(32)))
        batch.add_column(sa.Column("plate_box", sa.JSON))
    op.create_index("ix_cases_plate_text", "cases", ["plate_text"])


def downgrade() -> None:
    op.drop_index("ix_cases_plate_text", "cases")
    with op.batch_alter_table("cases") as batch:
        for column in ("plate_box", "plate_frame", "plate_confidence", "plate_kind", "plate_text", "plate_status"):
            batch.drop_column(column)
