"""The 数字城管 workflow: the code the edge box sent, the zone's kind, department, deadline.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("filed_code", sa.String(32)))
        batch.add_column(sa.Column("zone_kind", sa.String(64)))
        batch.add_column(sa.Column("department", sa.String(64)))
        batch.add_column(sa.Column("dispatched_at", _ts()))
        batch.add_column(sa.Column("due_at", _ts()))
        batch.add_column(sa.Column("resolved_at", _ts()))
    op.create_index("ix_cases_department", "cases", ["department"])
    op.create_index("ix_cases_due_at", "cases", ["due_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_due_at", "cases")
    op.drop_index("ix_cases_department", "cases")
    with op.batch_alter_table("cases") as batch:
        for column in ("resolved_at", "due_at", "dispatched_at", "department", "zone_kind", "filed_code"):
            batch.drop_column(column)
