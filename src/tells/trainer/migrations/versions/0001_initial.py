"""Trainees, sessions and answers.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trainees",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("trainee_id", sa.Integer(), sa.ForeignKey("trainees.id"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("frame_period_ms", sa.Float(), nullable=True),
    )
    op.create_index("ix_sessions_trainee_id", "sessions", ["trainee_id"])
    op.create_table(
        "answers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("sessions.id"), nullable=False),
        sa.Column("trial_index", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("item_key", sa.String(200), nullable=False),
        sa.Column("face_key", sa.String(64), nullable=False),
        sa.Column("emotion", sa.String(16), nullable=False),
        sa.Column("answer", sa.String(16), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("set_ms", sa.Float(), nullable=False),
        sa.Column("measured_ms", sa.Float(), nullable=True),
        sa.Column("measured_frames", sa.Integer(), nullable=True),
        sa.Column("frame_period_ms", sa.Float(), nullable=True),
        sa.Column("reaction_ms", sa.Float(), nullable=True),
        sa.Column("input_method", sa.String(8), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_answers_session_id", "answers", ["session_id"])


def downgrade() -> None:
    op.drop_index("ix_answers_session_id", "answers")
    op.drop_table("answers")
    op.drop_index("ix_sessions_trainee_id", "sessions")
    op.drop_table("sessions")
    op.drop_table("trainees")
