"""Answers record how many times the flash was shown (a flash that missed its duration by more
than a display frame, e.g. a dropped frame under load, is repeated).

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("flash_attempts", sa.Integer(), nullable=False,
                                   server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.drop_column("flash_attempts")
