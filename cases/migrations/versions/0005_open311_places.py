"""A person's Open311 report may give only an address (`address_string`): coordinates become optional.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.alter_column("lat", existing_type=sa.Float, nullable=True)
        batch.alter_column("lon", existing_type=sa.Float, nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.alter_column("lat", existing_type=sa.Float, nullable=False)
        batch.alter_column("lon", existing_type=sa.Float, nullable=False)
