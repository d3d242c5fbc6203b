"""audit log: hash-chained entries, their record index, break-glass reviews, the notification outbox.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Hand-written; checked on SQLite and PostgreSQL (tests/test_audit.py migrates both). The tables are
described by auth/audit/model.py. Triggers make `audit_entry` and `audit_record` append-only for
everyone who cannot run DDL: UPDATE and DELETE fail. The hash chain detects whoever can.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_APPEND_ONLY = ("audit_entry", "audit_record")


def upgrade() -> None:
    big = sa.BigInteger()
    op.create_table(
        "audit_entry",
        sa.Column("seq", big, autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(length=100), nullable=True),
        sa.Column("client_id", sa.String(length=200), nullable=True),
        sa.Column("user", sa.String(length=200), nullable=True),
        sa.Column("agency_id", sa.String(length=100), nullable=True),
        sa.Column("agency_type", sa.String(length=100), nullable=True),
        sa.Column("role", sa.String(length=100), nullable=True),
        sa.Column("issuer", sa.String(length=500), nullable=True),
        sa.Column("purpose", sa.String(length=100), nullable=True),
        sa.Column("operation", sa.String(length=200), nullable=False),
        sa.Column("query_hash", sa.String(length=64), nullable=True),
        sa.Column("records", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("break_glass", sa.Boolean(), nullable=False),
        sa.Column("break_glass_justification", sa.Text(), nullable=True),
        sa.Column("result_size", sa.Integer(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "decision IN ('allow', 'partial', 'deny', 'error')", name=op.f("ck_audit_entry_decision")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entry")),
    )
    op.create_index("ix_audit_entry_agency_id_seq_at", "audit_entry", ["agency_id", "seq", "at"])
    op.create_index("ix_audit_entry_decision_seq_at", "audit_entry", ["decision", "seq", "at"])
    op.create_index("ix_audit_entry_break_glass_seq_at", "audit_entry", ["break_glass", "seq", "at"])
    op.create_index("ix_audit_entry_at", "audit_entry", ["at"])

    op.create_table(
        "audit_record",
        sa.Column("seq", big, nullable=False),
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["seq"], ["audit_entry.seq"], name=op.f("fk_audit_record_seq_audit_entry")),
        sa.PrimaryKeyConstraint("seq", "record_id", name=op.f("pk_audit_record")),
    )
    op.create_index("ix_audit_record_record_id_seq", "audit_record", ["record_id", "seq"])

    op.create_table(
        "audit_review",
        sa.Column("seq", big, autoincrement=False, nullable=False),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["seq"], ["audit_entry.seq"], name=op.f("fk_audit_review_seq_audit_entry")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_review")),
    )

    op.create_table(
        "notification",
        # INTEGER on SQLite: only "INTEGER PRIMARY KEY" is the auto-numbered rowid.
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("agency_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notification_dedupe_key")),
    )
    op.create_index(
        "ix_notification_agency_id_delivered_at_id", "notification", ["agency_id", "delivered_at", "id"]
    )

    _create_append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()
    op.drop_index("ix_notification_agency_id_delivered_at_id", table_name="notification")
    op.drop_table("notification")
    op.drop_table("audit_review")
    op.drop_index("ix_audit_record_record_id_seq", table_name="audit_record")
    op.drop_table("audit_record")
    for name in (
        "ix_audit_entry_at",
        "ix_audit_entry_break_glass_seq_at",
        "ix_audit_entry_decision_seq_at",
        "ix_audit_entry_agency_id_seq_at",
    ):
        op.drop_index(name, table_name="audit_entry")
    op.drop_table("audit_entry")


def _create_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION shouhu_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
            END
            $$
            """
        )
        for table in _APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION shouhu_audit_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION shouhu_audit_append_only()"
            )
    else:
        for table in _APPEND_ONLY:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: {action} on {table} refused');"
                    " END"
                )


def _drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS shouhu_audit_append_only()")
    else:
        for table in _APPEND_ONLY:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
