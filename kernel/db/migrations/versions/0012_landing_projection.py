"""landing projection: what each loaded landing row projected into the graph, with its hash.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

``graph verify`` and ``graph rebuild`` fold these records instead of interpreting every landing
payload again (connectors.tables.LandingProjection). Rows loaded before this revision have none
and are interpreted as before. Hand-written from connectors/tables.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "landing_projection",
        sa.Column("seq", SEQ, autoincrement=False, nullable=False),
        sa.Column("records", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_landing_projection")),
    )


def downgrade() -> None:
    op.drop_table("landing_projection")
