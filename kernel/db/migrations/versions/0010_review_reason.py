"""review_item.reason: why a pair was queued for a caseworker.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

A shared ID number against conflicting evidence, twins, or a parent linked through the
family around them: the reviewer needs to see which, not only a score.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("review_item") as batch:
        batch.add_column(sa.Column("reason", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_item") as batch:
        batch.drop_column("reason")
