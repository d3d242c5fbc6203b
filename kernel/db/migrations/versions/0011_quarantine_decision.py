"""quarantine decisions: an operator dismisses a quarantined entry (a whole file too), with why.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

A file quarantined as a whole (``file:<name>``: it could not be read) has nothing to replay from:
the record keeps only its name, size and digest. The operator can dismiss it (or any quarantined
record) with a reason; the landing row becomes ``dismissed`` and the decision is kept here (and in
the audit log). Hand-written from connectors/tables.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)
_BEFORE = "status IN ('pending', 'loaded', 'quarantined', 'superseded')"
_AFTER = "status IN ('pending', 'loaded', 'quarantined', 'superseded', 'dismissed')"


def upgrade() -> None:
    with op.batch_alter_table("landing_record") as batch:
        batch.drop_constraint(op.f("ck_landing_record_status"), type_="check")
        batch.create_check_constraint(op.f("ck_landing_record_status"), _AFTER)
    op.create_table(
        "quarantine_decision",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_at", TZ, nullable=False),
        sa.CheckConstraint("action IN ('dismissed')", name=op.f("ck_quarantine_decision_action")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_decision")),
    )
    op.create_index("ix_quarantine_decision_seq", "quarantine_decision", ["seq"])


def downgrade() -> None:
    op.drop_index("ix_quarantine_decision_seq", table_name="quarantine_decision")
    op.drop_table("quarantine_decision")
    with op.batch_alter_table("landing_record") as batch:
        batch.drop_constraint(op.f("ck_landing_record_status"), type_="check")
        batch.create_check_constraint(op.f("ck_landing_record_status"), _BEFORE)
