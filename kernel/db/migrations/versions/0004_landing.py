"""connector landing log (with quarantine) and sync run reports.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

Hand-written from connectors/tables.py; checked on SQLite and PostgreSQL. `landing_record` keeps every
version of every source record exactly as received (canonical JSON), content-hashed so a version read
again is not landed twice; `status` moves pending -> loaded | quarantined, and a loaded or quarantined
version becomes superseded when a later version of the same record loads. `sync_run` is one row per run
and source with the accounting counters and the JSON report.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "landing_record",
        # INTEGER on SQLite: only "INTEGER PRIMARY KEY" is the auto-numbered rowid.
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=500), nullable=False),
        sa.Column("group_key", sa.String(length=200), nullable=True),
        sa.Column("asserted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason_code", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processed_run_id", sa.String(length=32), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'loaded', 'quarantined', 'superseded')",
            name=op.f("ck_landing_record_status"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_landing_record")),
        sa.UniqueConstraint(
            "source",
            "record_id",
            "content_hash",
            name=op.f("uq_landing_record_source_record_id_content_hash"),
        ),
    )
    op.create_index("ix_landing_record_source_status_seq", "landing_record", ["source", "status", "seq"])
    op.create_index("ix_landing_record_source_record_id", "landing_record", ["source", "record_id"])
    op.create_index("ix_landing_record_source_group_key", "landing_record", ["source", "group_key"])
    op.create_index("ix_landing_record_status_reason_code", "landing_record", ["status", "reason_code"])

    op.create_table(
        "sync_run",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        *(
            sa.Column(name, sa.Integer(), server_default="0", nullable=False)
            for name in (
                "received",
                "landed",
                "unchanged",
                "duplicates",
                "resumed",
                "loaded",
                "quarantined",
                "superseded",
                "warnings",
            )
        ),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'completed', 'failed', 'interrupted')", name=op.f("ck_sync_run_status")
        ),
        sa.PrimaryKeyConstraint("run_id", "source", name=op.f("pk_sync_run")),
    )
    op.create_index("ix_sync_run_source_started_at", "sync_run", ["source", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_sync_run_source_started_at", table_name="sync_run")
    op.drop_table("sync_run")
    for name in (
        "ix_landing_record_status_reason_code",
        "ix_landing_record_source_group_key",
        "ix_landing_record_source_record_id",
        "ix_landing_record_source_status_seq",
    ):
        op.drop_index(name, table_name="landing_record")
    op.drop_table("landing_record")
