"""screening and reporting chain: classifications, statistics snapshots, visits, periodic reports.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25

Hand-written from protection/screening_tables.py; checked on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "child_classification",
        sa.Column("person_id", sa.String(length=200), nullable=False),
        sa.Column("division", sa.String(length=12), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("age", sa.Integer(), nullable=True),
        sa.Column("left_behind", sa.Boolean(), nullable=False),
        sa.Column("in_distress", sa.Boolean(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("arrangement", sa.String(length=32), nullable=False),
        sa.Column("schooling", sa.String(length=32), nullable=False),
        sa.Column("case_status", sa.String(length=16), nullable=False),
        sa.Column("risks", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("last_visit", sa.String(length=10), nullable=True),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("computed_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_child_classification")),
    )
    op.create_index("ix_child_classification_division", "child_classification", ["division"])
    op.create_index("ix_child_classification_priority", "child_classification", ["priority"])

    op.create_table(
        "stat_snapshot",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("taken_at", TZ, nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("villages", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stat_snapshot")),
    )
    op.create_table(
        "stat_count",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("division", sa.String(length=12), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["snapshot_id"], ["stat_snapshot.id"], name=op.f("fk_stat_count_snapshot_id_stat_snapshot")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stat_count")),
    )
    op.create_index("ix_stat_count_division", "stat_count", ["division", "snapshot_id"])

    op.create_table(
        "child_visit_state",
        sa.Column("person_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("division", sa.String(length=12), nullable=False),
        sa.Column("last_visit_id", sa.String(length=64), nullable=True),
        sa.Column("visited_on", sa.Date(), nullable=True),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("living_arrangement", sa.String(length=32), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_child_visit_state")),
    )
    op.create_table(
        "visit_record",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=200), nullable=False),
        sa.Column("division", sa.String(length=12), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("visitor", sa.String(length=200), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("living_arrangement", sa.String(length=32), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_visit_record")),
    )
    op.create_index("ix_visit_record_person", "visit_record", ["person_id", "visited_on"])

    op.create_table(
        "visit_conflict",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=200), nullable=False),
        sa.Column("division", sa.String(length=12), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("proposed", sa.JSON(), nullable=False),
        sa.Column("current", sa.JSON(), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("raised_by", sa.String(length=200), nullable=False),
        sa.Column("raised_at", TZ, nullable=False),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("resolved_at", TZ, nullable=True),
        sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f("ck_visit_conflict_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_conflict")),
        sa.UniqueConstraint("client_id", name=op.f("uq_visit_conflict_client_id")),
    )
    op.create_index("ix_visit_conflict_person", "visit_conflict", ["person_id", "status"])

    op.create_table(
        "periodic_report",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("division", sa.String(length=12), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("submitted_by", sa.String(length=200), nullable=True),
        sa.Column("submitted_at", TZ, nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", TZ, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'submitted', 'approved', 'returned')", name=op.f("ck_periodic_report_status")
        ),
        sa.CheckConstraint("kind IN ('quarterly', 'annual')", name=op.f("ck_periodic_report_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_periodic_report")),
        sa.UniqueConstraint("division", "period", name=op.f("uq_periodic_report_division_period")),
    )


def downgrade() -> None:
    op.drop_table("periodic_report")
    op.drop_index("ix_visit_conflict_person", table_name="visit_conflict")
    op.drop_table("visit_conflict")
    op.drop_index("ix_visit_record_person", table_name="visit_record")
    op.drop_table("visit_record")
    op.drop_table("child_visit_state")
    op.drop_index("ix_stat_count_division", table_name="stat_count")
    op.drop_table("stat_count")
    op.drop_table("stat_snapshot")
    op.drop_index("ix_child_classification_priority", table_name="child_classification")
    op.drop_index("ix_child_classification_division", table_name="child_classification")
    op.drop_table("child_classification")
