"""guardianship_agreement.projected: whether the agreement's graph copy was written.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

A case says how far its graph copy has caught up (``projected_version``); an agreement had no such
mark, so one saved while the graph failed its write stayed out of the graph until a full
``graph rebuild``. Agreements recorded before this revision are marked not projected: the next
catch-up (protection.projection.reproject_pending) writes them again, which changes nothing in a
graph that has them (the upserts are idempotent) and adds the ones a failed write lost.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("guardianship_agreement") as batch:
        batch.add_column(sa.Column("projected", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("guardianship_agreement") as batch:
        batch.drop_column("projected")
