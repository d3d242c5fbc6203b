"""resolution_mention: an ID number that failed validation, kept as an unverified claim.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

A record's ID number that fails GB 11643 validation (inner blanks, a 15-digit number, a
spreadsheet number cell, a wrong check digit) is never a matching key, but it is what
the source said: it is kept beside the mention with the reason it failed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("resolution_mention") as batch:
        batch.add_column(sa.Column("id_claim", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("id_status", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("resolution_mention") as batch:
        batch.drop_column("id_status")
        batch.drop_column("id_claim")
