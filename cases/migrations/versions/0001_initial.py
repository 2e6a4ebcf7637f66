"""Initial schema: cases, evidence, audit log, tokens.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("violation_type", sa.String(32), nullable=False),
        sa.Column("reviewed_violation_type", sa.String(32)),
        sa.Column("standard_code", sa.String(32), nullable=False),
        sa.Column("urgent", sa.Boolean, nullable=False),
        sa.Column("device_id", sa.String(64)),
        sa.Column("camera_id", sa.String(64)),
        sa.Column("zone_id", sa.String(64)),
        sa.Column("first_seen", _ts(), nullable=False),
        sa.Column("confirmed_at", _ts(), nullable=False),
        sa.Column("received_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("address", sa.String(300)),
        sa.Column("grid_code", sa.String(64)),
        sa.Column("description", sa.Text),
        sa.Column("model_name", sa.String(100)),
        sa.Column("model_version", sa.String(50)),
        sa.Column("model_sha256", sa.String(64)),
        sa.Column("frame_width", sa.Integer),
        sa.Column("frame_height", sa.Integer),
        sa.Column("detections", sa.JSON, nullable=False),
        sa.Column("reporter", sa.JSON),
        sa.Column("reviewer", sa.String(100)),
        sa.Column("reviewed_at", _ts()),
        sa.Column("reject_reason", sa.String(500)),
        sa.UniqueConstraint("event_id", name="uq_cases_event_id"),
    )
    for column in ("status", "violation_type", "camera_id", "confirmed_at", "reviewed_at"):
        op.create_index(f"ix_cases_{column}", "cases", [column])
    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("captured_at", _ts()),
        sa.UniqueConstraint("case_id", "role", name="uq_evidence_case_role"),
    )
    op.create_index("ix_evidence_case_id", "evidence", ["case_id"])
    op.create_index("ix_evidence_sha256", "evidence", ["sha256"])
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("actor_kind", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500)),
        sa.Column("violation_type", sa.String(32)),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("cameras", sa.JSON, nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("revoked_at", _ts()),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_index("ix_api_tokens_subject", "api_tokens", ["subject"])


def downgrade() -> None:
    op.drop_table("api_tokens")
    op.drop_table("case_events")
    op.drop_table("evidence")
    op.drop_table("cases")
