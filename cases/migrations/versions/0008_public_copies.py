"""Public copies of evidence frames (people and other plates hidden by the edge box), beside the originals.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        batch.add_column(sa.Column("public_sha256", sa.String(64)))
    op.create_index("ix_evidence_public_sha256", "evidence", ["public_sha256"])


def downgrade() -> None:
    op.drop_index("ix_evidence_public_sha256", "evidence")
    with op.batch_alter_table("evidence") as batch:
        batch.drop_column("public_sha256")
