"""The connectors' relational tables: the landing log (with its quarantine) and the run reports.

Described here as SQLModel classes; created by the hand-written Alembic revision
``kernel/db/migrations/versions/0004_landing.py`` (Alembic's env imports this module so
autogenerate compares them). The per-source read position lives in the existing
``sync_cursor`` table (``kernel.db.tables.SyncCursor``).

Why a landing log: every record a source sends is stored exactly as received, before
anything can fail, so no record is ever lost between "read" and "in the graph"; a record
that fails validation stays there, quarantined with its reason, until a fixed validator
or a corrected resubmission lets it through; and the graph can always be rebuilt from it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from kernel.db.tables import UTCDateTime, utcnow

__all__ = [
    "STATUSES",
    "DerivedQueue",
    "GraphProjection",
    "LandingProjection",
    "LandingRecord",
    "ReferenceSnapshot",
    "SyncRun",
    "UnresolvedNeed",
]

STATUSES: tuple[str, ...] = ("pending", "loaded", "quarantined", "superseded")
"""pending: landed, not yet processed; loaded: in the graph; quarantined: failed validation,
waiting for a fix; superseded: a later version of the same source record replaced it."""

# INTEGER on SQLite: only "INTEGER PRIMARY KEY" is the auto-numbered rowid.
_SEQ = BigInteger().with_variant(Integer(), "sqlite")


class LandingRecord(SQLModel, table=True):
    """One version of one source record, as received, and what became of it.

    ``content_hash`` (SHA-256 of the record's kind and canonical JSON payload) makes
    landing idempotent: the same version read again is recognised and not landed twice,
    while a changed version of the same ``record_id`` lands as a new row and supersedes
    the old one once it loads. ``seq`` is the landing order, which is also the order
    records are processed in, so a resumed run processes exactly what an uninterrupted
    one would have, in the same batches.
    """

    __tablename__ = "landing_record"
    __table_args__ = (
        UniqueConstraint("source", "record_id", "content_hash"),
        CheckConstraint(
            "status IN ('pending', 'loaded', 'quarantined', 'superseded', 'dismissed')", name="status"
        ),
        Index("ix_landing_record_source_status_seq", "source", "status", "seq"),
        Index("ix_landing_record_source_record_id", "source", "record_id"),
        Index("ix_landing_record_source_group_key", "source", "group_key"),
        Index("ix_landing_record_status_reason_code", "status", "reason_code"),
    )

    seq: int | None = Field(
        default=None,
        sa_column=Column(_SEQ, primary_key=True, autoincrement=True),
        description="Landing order.",
    )
    source: str = Field(sa_column=Column(String(50), nullable=False), description="Connector source name.")
    record_id: str = Field(
        sa_column=Column(String(200), nullable=False), description="The source's record id."
    )
    kind: str = Field(
        sa_column=Column(String(50), nullable=False), description="Record type within the source."
    )
    content_hash: str = Field(sa_column=Column(String(64), nullable=False))
    payload: str = Field(
        sa_column=Column(Text, nullable=False), description="Canonical JSON of the raw record."
    )
    origin: str = Field(sa_column=Column(String(500), nullable=False), description="File and line, or URL.")
    group_key: str | None = Field(
        default=None,
        sa_column=Column(String(200), nullable=True),
        description="Records processed together: the household of a register row.",
    )
    asserted_at: datetime = Field(
        sa_column=Column(UTCDateTime(), nullable=False), description="When the source said it (provenance)."
    )
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    run_id: str = Field(sa_column=Column(String(32), nullable=False), description="The run that landed it.")
    status: str = Field(default="pending", sa_column=Column(String(16), nullable=False))
    reason_code: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    processed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    processed_run_id: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))


class SyncRun(SQLModel, table=True):
    """The report of one run for one source: what was received and what became of it.

    The accounting identity every row satisfies once ``status`` is ``completed``::

        received + resumed = loaded + quarantined + unchanged + duplicates

    ``resumed`` counts records an interrupted earlier run had landed but not processed.
    ``report`` holds the breakdowns (quarantine reasons, warnings, graph writes, timings).
    """

    __tablename__ = "sync_run"
    __table_args__ = (
        PrimaryKeyConstraint("run_id", "source"),
        CheckConstraint("status IN ('running', 'completed', 'failed', 'interrupted')", name="status"),
        Index("ix_sync_run_source_started_at", "source", "started_at"),
    )

    run_id: str = Field(sa_column=Column(String(32), nullable=False))
    source: str = Field(sa_column=Column(String(50), nullable=False))
    kind: str = Field(
        default="sync", sa_column=Column(String(16), nullable=False), description="sync | replay"
    )
    status: str = Field(default="running", sa_column=Column(String(16), nullable=False))
    started_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    received: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    landed: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    unchanged: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    duplicates: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    resumed: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    loaded: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    quarantined: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    superseded: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    warnings: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    report: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class GraphProjection(SQLModel, table=True):
    """The projection watermark: which graph generation the record was written into, and how far.

    The graph holds the same pair (``GraphStore.watermark``), written in the graph transaction of
    every sync batch; this row is moved in the relational transaction that marks the batch's
    landing rows loaded, after the graph commit. So at any moment the graph is at most one batch
    ahead (a kill between the two commits: the batch is still pending and is redone, idempotently)
    and never behind. A graph behind this row, or of another epoch, lost committed transactions
    (a deleted or unreplayable write-ahead log) and is rebuilt from the record.
    """

    __tablename__ = "graph_projection"

    name: str = Field(sa_column=Column(String(32), primary_key=True), description="The graph store.")
    epoch: str = Field(sa_column=Column(String(32), nullable=False), description="Graph generation id.")
    seq: int = Field(default=0, sa_column=Column(Integer, nullable=False), description="Batches written.")
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ReferenceSnapshot(SQLModel, table=True):
    """Every version of the reference tables a sync loaded into the graph, as received.

    The graph's Division and School nodes come from these files; keeping them here makes the
    graph derivable from the relational store alone (``shouhu graph rebuild``).
    """

    __tablename__ = "reference_snapshot"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    asserted_at: datetime = Field(
        sa_column=Column(UTCDateTime(), nullable=False), description="Provenance time of its records."
    )
    files: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False), description="File name -> text."
    )
    loaded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class QuarantineDecision(SQLModel, table=True):
    """An operator's decision on a quarantined landing row (``shouhu quarantine dismiss``): who, why,
    when. A whole file quarantined (``file:<name>``) has no payload to replay; dismissing is how it
    leaves the quarantine list. Audited too (the audit log's ``quarantine.dismiss`` entries)."""

    __tablename__ = "quarantine_decision"
    __table_args__ = (
        CheckConstraint("action IN ('dismissed')", name="action"),
        Index("ix_quarantine_decision_seq", "seq"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False), description="The landing row decided on.")
    source: str = Field(sa_column=Column(String(50), nullable=False))
    record_id: str = Field(sa_column=Column(String(200), nullable=False))
    action: str = Field(sa_column=Column(String(16), nullable=False))
    decided_by: str = Field(sa_column=Column(String(200), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    decided_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class DerivedQueue(SQLModel, table=True):
    """People whose derived state (classification, screening) is stale: a durable work queue.

    The pipeline adds the people a batch wrote in the transaction that marks its landing rows
    loaded; protection drains it (recompute, then delete what it read). A kill anywhere leaves
    the entries in place, so the next drain redoes the work: at least once, and recomputing is
    idempotent.
    """

    __tablename__ = "derived_queue"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    person_id: str = Field(sa_column=Column(String(200), nullable=False), description="person:<key>.")
    township: str | None = Field(
        default=None, sa_column=Column(String(9), nullable=True), description="9-digit township code."
    )
    enqueued_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class UnresolvedNeed(SQLModel, table=True):
    """A loaded row's optional reference to a record not loaded when the row was (a parent whose
    household comes later): the row is projected again once that record is loaded."""

    __tablename__ = "unresolved_need"
    __table_args__ = (Index("ix_unresolved_need_source", "source"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    source: str = Field(sa_column=Column(String(50), nullable=False))
    seq: int = Field(sa_column=Column(_SEQ, nullable=False), description="The waiting landing row.")
    record_id: str = Field(sa_column=Column(String(200), nullable=False), description="What it names.")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class LandingProjection(SQLModel, table=True):
    """What one loaded landing row projected into the graph: its nodes and relationships as the
    connector interpreted them, people named by the mention ``(system, record_id)`` that entity
    resolution links to a person (so a merge, automatic or reviewed, changes nothing here), and a
    SHA-256 of that text.

    Derived, but transactional with the landing log: written in the relational transaction that
    marks the row ``loaded`` (and again when the row is re-asserted: a retried optional reference,
    a re-projection after a merge). ``graph verify`` and ``graph rebuild`` fold these instead of
    interpreting every payload again (that was most of their time: 511 s and 429 s on a partial
    200,000-person county). A loaded row without one (a directory synced before migration 0012)
    is interpreted as before.
    """

    __tablename__ = "landing_projection"

    seq: int = Field(
        sa_column=Column(_SEQ, primary_key=True, autoincrement=False), description="Landing row."
    )
    records: str = Field(sa_column=Column(Text, nullable=False), description="JSON list of records.")
    sha256: str = Field(sa_column=Column(String(64), nullable=False), description="Of ``records``.")
