"""The audit tables: the hash-chained entries, their record index, reviews and the notification outbox.

The schema is owned by revision 0003 (`kernel/db/migrations/versions/0003_audit_log.py`); these classes
describe it to SQLAlchemy and must stay in step with it (`pending_changes` compares the two).

Layout, and why:

* `audit_entry` — one row per request or decision, never updated or deleted (database triggers refuse
  UPDATE and DELETE, so a mistaken or malicious statement from the application role fails loudly; the
  hash chain catches whoever can drop the triggers). `seq` is assigned by the writer inside the chain
  lock, not by a sequence: a sequence leaves gaps on rollback, and a gap must mean "a row was deleted".
* `audit_record` — (seq, record_id) for every record an entry touched, written in the same transaction.
  "Who accessed child X" is then an index range scan on (record_id, seq) on both SQLite and PostgreSQL,
  where searching the JSON `records` column would be a full scan on SQLite.
* `audit_review` — break-glass reviews. Entries are immutable, so the review lives beside them.
* `notification` — an outbox of "your case's record was accessed" messages for the owning agencies,
  delivered by whoever polls it; `dedupe_key` makes writing the same notification twice a no-op.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
)
from sqlmodel import Field, SQLModel

from kernel.db.tables import UTCDateTime, utcnow

# BIGINT on PostgreSQL (a busy platform writes millions of entries a month); plain INTEGER on SQLite,
# where only "INTEGER PRIMARY KEY" is the auto-numbered rowid (the notification id needs that).
BigId = BigInteger().with_variant(Integer(), "sqlite")

DECISIONS = ("allow", "partial", "deny", "error")
"""Entry-level summaries. allow: everything requested was returned (masked fields count as returned,
masking is the policy working); partial: some fields were denied (null plus an error); deny: the request
was refused as a whole; error: it failed for a reason other than policy."""

FIELD_DECISIONS = ("allow", "mask", "deny", "write")  # write: what a mutation changed
"""Per-field outcomes, the keys of `AuditEntry.fields`."""


class AuditEntry(SQLModel, table=True):
    """One audited request: who, when, why, what was touched, what was decided; chained by hash."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        CheckConstraint("decision IN ('allow', 'partial', 'deny', 'error')", name="decision"),
        # (filter, seq, at): pages come back in seq order straight from the index, with no sort of
        # everything an agency ever did, and the time filter is checked on the index entry itself.
        Index("ix_audit_entry_agency_id_seq_at", "agency_id", "seq", "at"),
        Index("ix_audit_entry_decision_seq_at", "decision", "seq", "at"),
        Index("ix_audit_entry_break_glass_seq_at", "break_glass", "seq", "at"),
        # Time windows across all clients (unusual_volume, exports by date).
        Index("ix_audit_entry_at", "at"),
    )

    seq: int = Field(
        sa_column=Column(BigInteger, primary_key=True, autoincrement=False),
        description="Position in the chain: 1, 2, 3, ... with no gaps.",
    )
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False), description="When (UTC).")
    request_id: str | None = Field(default=None, sa_column=Column(String(100)))
    client_id: str | None = Field(default=None, sa_column=Column(String(200)))
    user: str | None = Field(default=None, sa_column=Column(String(200)))
    agency_id: str | None = Field(default=None, sa_column=Column(String(100)))
    agency_type: str | None = Field(default=None, sa_column=Column(String(100)))
    role: str | None = Field(default=None, sa_column=Column(String(100)))
    issuer: str | None = Field(default=None, sa_column=Column(String(500)))
    purpose: str | None = Field(default=None, sa_column=Column(String(100)))
    operation: str = Field(sa_column=Column(String(200), nullable=False))
    query_hash: str | None = Field(default=None, sa_column=Column(String(64)))
    records: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    fields: dict[str, list[str]] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    decision: str = Field(sa_column=Column(String(16), nullable=False))
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    break_glass: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    break_glass_justification: str | None = Field(default=None, sa_column=Column(Text))
    result_size: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    status: int = Field(sa_column=Column(Integer, nullable=False))
    prev_hash: str = Field(sa_column=Column(String(64), nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))


class AuditRecord(SQLModel, table=True):
    """Which records an entry touched, one row each: the index behind "who accessed child X"."""

    __tablename__ = "audit_record"
    __table_args__ = (
        PrimaryKeyConstraint("seq", "record_id"),
        Index("ix_audit_record_record_id_seq", "record_id", "seq"),
    )

    seq: int = Field(sa_column=Column(BigInteger, ForeignKey("audit_entry.seq"), nullable=False))
    record_id: str = Field(sa_column=Column(String(200), nullable=False))


class AuditReview(SQLModel, table=True):
    """A reviewer's sign-off on a break-glass entry (the entry itself can never change)."""

    __tablename__ = "audit_review"

    seq: int = Field(
        sa_column=Column(BigInteger, ForeignKey("audit_entry.seq"), primary_key=True, autoincrement=False)
    )
    reviewer: str = Field(sa_column=Column(String(200), nullable=False))
    reviewed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Notification(SQLModel, table=True):
    """An outbox message for one agency. The payload carries ids and codes only, never data values."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_agency_id_delivered_at_id", "agency_id", "delivered_at", "id"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    agency_id: str = Field(sa_column=Column(String(100), nullable=False))
    kind: str = Field(sa_column=Column(String(50), nullable=False))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    dedupe_key: str = Field(sa_column=Column(String(300), nullable=False, unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
