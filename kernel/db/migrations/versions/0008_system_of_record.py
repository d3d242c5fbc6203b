"""system of record: the graph projection watermark, reference snapshots, the derived-state and
re-projection queues, optional references waiting for their record.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

Hand-written from connectors/tables.py and connectors/resolution/tables.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "graph_projection",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("epoch", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_graph_projection")),
    )
    op.create_table(
        "reference_snapshot",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("asserted_at", TZ, nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("loaded_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_snapshot")),
    )
    op.create_table(
        "derived_queue",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(length=200), nullable=False),
        sa.Column("township", sa.String(length=9), nullable=True),
        sa.Column("enqueued_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_derived_queue")),
    )
    op.create_table(
        "reproject_queue",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_key", sa.String(length=32), nullable=False),
        sa.Column("merge_id", sa.Integer(), nullable=True),
        sa.Column("enqueued_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reproject_queue")),
    )

    op.create_table(
        "unresolved_need",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unresolved_need")),
    )
    op.create_index("ix_unresolved_need_source", "unresolved_need", ["source"])


def downgrade() -> None:
    op.drop_index("ix_unresolved_need_source", table_name="unresolved_need")
    op.drop_table("unresolved_need")
    op.drop_table("reproject_queue")
    op.drop_table("derived_queue")
    op.drop_table("reference_snapshot")
    op.drop_table("graph_projection")
