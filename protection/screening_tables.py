"""Screening tables: materialised classifications, statistics snapshots, visits, periodic reports.

Created by the hand-written revision ``0007_screening``.

- ``child_classification`` — one row per child: the categories, guardianship arrangement,
  schooling, case status, risk rules that hold, priority and the explanation, computed from
  the graph. Materialised so counts by division and worklists are one indexed query rather
  than a graph walk per child.
- ``stat_snapshot`` / ``stat_count`` — counts per village and dimension taken at every
  recompute, so statistics have a history (a series), not just today's figure.
- ``visit_record`` — every screening visit recorded through the API, keyed by the id the
  device generated, so a phone's offline queue can resend it without duplicating it.
- ``child_visit_state`` — the current visit record of a child with its version: a device
  sends the version it last saw and a mismatch is a conflict, never a silent overwrite.
- ``visit_conflict`` — a visit that arrived against a version that had moved on, held with
  both sides until the supervisor chooses.
- ``periodic_report`` — quarterly and annual reports per division and period, with their
  figures, deadline and submission/approval state (village → township → county).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from kernel.db.tables import UTCDateTime, utcnow
from protection.transitions import PeriodicStatus

CONFLICT_STATUSES: tuple[str, ...] = ("open", "resolved")
REPORT_STATUSES: tuple[str, ...] = tuple(s.value for s in PeriodicStatus)  # protection/transitions.py
REPORT_KINDS: tuple[str, ...] = ("quarterly", "annual")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class ChildClassification(SQLModel, table=True):
    __tablename__ = "child_classification"
    __table_args__ = (
        Index("ix_child_classification_division", "division"),
        Index("ix_child_classification_priority", "priority"),
    )

    person_id: str = Field(sa_column=Column(String(200), primary_key=True))
    division: str = Field(sa_column=Column(String(12), nullable=False), description="Village code.")
    sex: str | None = Field(default=None, sa_column=Column(String(1)))
    age: int | None = Field(default=None, sa_column=Column(Integer))
    left_behind: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    in_distress: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    arrangement: str = Field(sa_column=Column(String(32), nullable=False))
    schooling: str = Field(sa_column=Column(String(32), nullable=False))
    case_status: str = Field(sa_column=Column(String(16), nullable=False))
    risks: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    priority: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    last_visit: str | None = Field(default=None, sa_column=Column(String(10)))
    explanation: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    computed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class StatSnapshot(SQLModel, table=True):
    __tablename__ = "stat_snapshot"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    taken_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    trigger: str = Field(sa_column=Column(String(32), nullable=False), description="sync, visit, manual …")
    villages: int = Field(default=0, sa_column=Column(Integer, nullable=False))


class StatCount(SQLModel, table=True):
    __tablename__ = "stat_count"
    __table_args__ = (Index("ix_stat_count_division", "division", "snapshot_id"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    snapshot_id: int = Field(sa_column=Column(Integer, ForeignKey("stat_snapshot.id"), nullable=False))
    division: str = Field(sa_column=Column(String(12), nullable=False), description="Village code.")
    dimension: str = Field(sa_column=Column(String(16), nullable=False))
    value: str = Field(sa_column=Column(String(32), nullable=False))
    count: int = Field(sa_column=Column(Integer, nullable=False))


class ChildVisitState(SQLModel, table=True):
    __tablename__ = "child_visit_state"

    person_id: str = Field(sa_column=Column(String(200), primary_key=True))
    version: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    division: str = Field(sa_column=Column(String(12), nullable=False))
    last_visit_id: str | None = Field(default=None, sa_column=Column(String(64)))
    visited_on: date | None = Field(default=None, sa_column=Column(Date))
    findings: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    living_arrangement: str | None = Field(default=None, sa_column=Column(String(32)))
    notes: str | None = Field(default=None, sa_column=Column(Text))
    updated_by: str | None = Field(default=None, sa_column=Column(String(200)))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class VisitRecord(SQLModel, table=True):
    __tablename__ = "visit_record"
    __table_args__ = (Index("ix_visit_record_person", "person_id", "visited_on"),)

    client_id: str = Field(sa_column=Column(String(64), primary_key=True), description="Device-made id.")
    person_id: str = Field(sa_column=Column(String(200), nullable=False))
    division: str = Field(sa_column=Column(String(12), nullable=False))
    visited_on: date = Field(sa_column=Column(Date, nullable=False))
    visitor: str = Field(sa_column=Column(String(200), nullable=False))
    findings: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    living_arrangement: str = Field(sa_column=Column(String(32), nullable=False))
    notes: str | None = Field(default=None, sa_column=Column(Text))
    payload_hash: str = Field(sa_column=Column(String(64), nullable=False))
    version: int = Field(sa_column=Column(Integer, nullable=False), description="State version it made.")
    recorded_by: str = Field(sa_column=Column(String(200), nullable=False))
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class VisitConflict(SQLModel, table=True):
    __tablename__ = "visit_conflict"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(CONFLICT_STATUSES)})", name="status"),
        Index("ix_visit_conflict_person", "person_id", "status"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    client_id: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    person_id: str = Field(sa_column=Column(String(200), nullable=False))
    division: str = Field(sa_column=Column(String(12), nullable=False))
    base_version: int = Field(sa_column=Column(Integer, nullable=False))
    current_version: int = Field(sa_column=Column(Integer, nullable=False))
    proposed: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    current: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    payload_hash: str = Field(sa_column=Column(String(64), nullable=False))
    status: str = Field(default="open", sa_column=Column(String(16), nullable=False))
    resolution: str | None = Field(default=None, sa_column=Column(String(16)))
    raised_by: str = Field(sa_column=Column(String(200), nullable=False))
    raised_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    resolved_by: str | None = Field(default=None, sa_column=Column(String(200)))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class PeriodicReport(SQLModel, table=True):
    __tablename__ = "periodic_report"
    __table_args__ = (
        UniqueConstraint("division", "period"),
        CheckConstraint(f"status IN ({_in(REPORT_STATUSES)})", name="status"),
        CheckConstraint(f"kind IN ({_in(REPORT_KINDS)})", name="kind"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    division: str = Field(sa_column=Column(String(12), nullable=False))
    level: str = Field(sa_column=Column(String(16), nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    period: str = Field(sa_column=Column(String(8), nullable=False), description="2026-Q3 or 2026.")
    deadline: date = Field(sa_column=Column(Date, nullable=False))
    status: str = Field(default="draft", sa_column=Column(String(16), nullable=False))
    figures: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    submitted_by: str | None = Field(default=None, sa_column=Column(String(200)))
    submitted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    decided_by: str | None = Field(default=None, sa_column=Column(String(200)))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    note: str | None = Field(default=None, sa_column=Column(Text))
