"""The resolver's tables: which person each mention is, what it said, the review queue, merges, models.

Created by the hand-written revision ``0005_resolution``; ``kernel/db/migrations/env.py``
imports this module so autogenerate sees them.

- ``person_link`` — ``(system, record_id)`` → ``person_key``: the answer the pipeline
  asks for. Person keys are random (uuid4 hex), never derived from an ID number or a
  name, because they travel in URLs, graph node ids and audit logs.
- ``resolution_mention`` — what each mention said when it was resolved (name, ID
  number, birth date …, and the derived pinyin keys), so that later runs compare new
  mentions against everyone already known without re-reading the sources.
- ``review_item`` — a pair of mentions that may be one person, scored between the
  review and match thresholds; a caseworker merges or rejects it.
- ``merge_history`` — every merge of two people, with the mentions it moved, so that
  it can be undone.
- ``resolution_model`` — the trained Splink model (m/u probabilities and prior), kept
  so that later runs score with the same parameters, and so that a link can be
  explained after the fact.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
)
from sqlmodel import Field, SQLModel

from kernel.db.tables import UTCDateTime, utcnow

__all__ = [
    "LINK_METHODS",
    "RESOLUTION_TABLES",
    "REVIEW_STATUSES",
    "MergeHistory",
    "PersonLink",
    "ReprojectQueue",
    "ResolutionMention",
    "ResolutionModel",
    "ReviewItem",
]

LINK_METHODS: tuple[str, ...] = ("id_number", "probabilistic", "new", "review")
"""How a mention came to its person: its valid ID number; a probabilistic match; alone
(a new person); a caseworker's merge (undoing a merge restores the previous method)."""

REVIEW_STATUSES: tuple[str, ...] = ("open", "merged", "rejected")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class PersonLink(SQLModel, table=True):
    """Which person a mention is. One row per ``(system, record_id)``."""

    __tablename__ = "person_link"
    __table_args__ = (
        PrimaryKeyConstraint("system", "record_id"),
        CheckConstraint(f"method IN ({_in(LINK_METHODS)})", name="method"),
        Index("ix_person_link_person_key", "person_key"),
        # The resolver's change check reads the newest linked_at (resolver._signature).
        Index("ix_person_link_linked_at", "linked_at"),
    )

    system: str = Field(sa_column=Column(String(64), nullable=False), description="Source system.")
    record_id: str = Field(sa_column=Column(String(200), nullable=False), description="Mention id.")
    person_key: str = Field(sa_column=Column(String(32), nullable=False), description="Stable person key.")
    method: str = Field(sa_column=Column(String(16), nullable=False), description="One of LINK_METHODS.")
    score: float | None = Field(
        default=None,
        sa_column=Column(Float),
        description="Match probability of the link that brought the mention in (probabilistic links).",
    )
    linked_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False), description="When (UTC)."
    )


class ResolutionMention(SQLModel, table=True):
    """A mention as the resolver last saw it, with its derived comparison keys."""

    __tablename__ = "resolution_mention"
    __table_args__ = (
        PrimaryKeyConstraint("system", "record_id"),
        # The resolver's change check reads the newest seen_at (resolver._signature).
        Index("ix_resolution_mention_seen_at", "seen_at"),
    )

    system: str = Field(sa_column=Column(String(64), nullable=False))
    record_id: str = Field(sa_column=Column(String(200), nullable=False))
    role: str | None = Field(default=None, sa_column=Column(String(32)))
    name: str | None = Field(default=None, sa_column=Column(String(100)))
    name_py: str | None = Field(default=None, sa_column=Column(String(300)), description="Toneless pinyin.")
    name_fz: str | None = Field(
        default=None, sa_column=Column(String(300)), description="Pinyin after south-west Mandarin mergers."
    )
    surname_fz: str | None = Field(default=None, sa_column=Column(String(50)))
    id_number: str | None = Field(default=None, sa_column=Column(String(18)))
    sex: str | None = Field(default=None, sa_column=Column(String(1)))
    birth_date: date | None = Field(default=None, sa_column=Column(Date))
    division: str | None = Field(default=None, sa_column=Column(String(12)))
    household_number: str | None = Field(default=None, sa_column=Column(String(32)))
    phone: str | None = Field(default=None, sa_column=Column(String(32)))
    adult: int | None = Field(default=None, sa_column=Column(Integer), description="1 adult, 0 child, null.")
    id_claim: str | None = Field(
        default=None,
        sa_column=Column(String(64)),
        description="An ID number the record claims that failed validation, as given (never matched on).",
    )
    id_status: str | None = Field(
        default=None, sa_column=Column(String(32)), description="Why the claim failed: id_number.<reason>."
    )
    seen_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ReviewItem(SQLModel, table=True):
    """Two mentions that may be one person, waiting for (or given) a caseworker's decision."""

    __tablename__ = "review_item"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(REVIEW_STATUSES)})", name="status"),
        Index(
            "ix_review_item_pair",
            "left_system",
            "left_record_id",
            "right_system",
            "right_record_id",
            unique=True,
        ),
        Index("ix_review_item_status", "status"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    left_system: str = Field(sa_column=Column(String(64), nullable=False))
    left_record_id: str = Field(sa_column=Column(String(200), nullable=False))
    right_system: str = Field(sa_column=Column(String(64), nullable=False))
    right_record_id: str = Field(sa_column=Column(String(200), nullable=False))
    score: float = Field(sa_column=Column(Float, nullable=False), description="Match probability.")
    status: str = Field(default="open", sa_column=Column(String(16), nullable=False, server_default="open"))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    decided_by: str | None = Field(default=None, sa_column=Column(String(200)))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    reason: str | None = Field(
        default=None,
        sa_column=Column(String(300)),
        description="Why the pair needs a person (shared ID number against other evidence, twins, "
        "collective evidence); null for an ordinary score between the thresholds.",
    )


class MergeHistory(SQLModel, table=True):
    """One merge of two people (``absorbed_key`` into ``survivor_key``) and how to take it back."""

    __tablename__ = "merge_history"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    review_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("review_item.id")))
    survivor_key: str = Field(sa_column=Column(String(32), nullable=False))
    absorbed_key: str = Field(sa_column=Column(String(32), nullable=False))
    moved: list[Any] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False),
        description="[[system, record_id, previous method, previous score], ...] the merge re-linked.",
    )
    decided_by: str = Field(sa_column=Column(String(200), nullable=False))
    decided_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    undone_by: str | None = Field(default=None, sa_column=Column(String(200)))
    undone_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class ResolutionModel(SQLModel, table=True):
    """A trained linkage model (Splink settings with m/u probabilities), newest last."""

    __tablename__ = "resolution_model"
    __table_args__ = (Index("ix_resolution_model_spec", "spec", "id"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    spec: str = Field(sa_column=Column(String(64), nullable=False), description="LinkageSpec name.")
    version: str = Field(sa_column=Column(String(32), nullable=False), description="LinkageSpec version.")
    trained_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    records: int = Field(sa_column=Column(Integer, nullable=False), description="Records trained on.")
    labelled_pairs: int = Field(
        sa_column=Column(Integer, nullable=False), description="Pairs sharing a valid ID number."
    )
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ReprojectQueue(SQLModel, table=True):
    """People an automatic merge changed whose graph projection is still to be redone.

    Written by the resolver in the transaction that records the merge; the pipeline re-projects
    them in its next graph transaction and deletes the entries with the batch's relational commit,
    so a kill between the merge and the graph write cannot leave the absorbed person's node behind.
    """

    __tablename__ = "reproject_queue"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    person_key: str = Field(sa_column=Column(String(32), nullable=False))
    merge_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    enqueued_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


RESOLUTION_TABLES: tuple[type[SQLModel], ...] = (
    PersonLink,
    ResolutionMention,
    ReviewItem,
    MergeHistory,
    ResolutionModel,
    ReprojectQueue,
)
"""The resolver's table classes, in creation order (for tests that create them directly)."""
