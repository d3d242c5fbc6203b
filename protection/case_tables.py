"""The workflow tables: cases, mandatory reports, steps with deadlines, history, the records of each
mechanism (应急处置 actions, 评估 assessments, 帮扶 services and follow-ups, 监护干预 interventions),
agreements (监护责任书, 委托监护协议), and the webhook subscriptions and delivery outbox.

Created by the hand-written revision ``0006_protection_cases``. Workflow state lives here because it
needs transactions, deadlines and an append-only history; ``protection.projection`` copies each record
into the graph afterwards (idempotently) so profiles and row scope see it.

Ids are random (``<prefix>-<uuid4 hex>``): they travel in URLs, webhook payloads and graph node ids and
must say nothing about the child.
"""

from __future__ import annotations

import uuid
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
from sqlalchemy import false as sql_false
from sqlmodel import Field, SQLModel

from kernel.db.tables import UTCDateTime, utcnow
from protection.transitions import CaseStatus, ReportStatus

# The statuses and their transitions are in protection/transitions.py; the check constraints follow.
CASE_STATUSES: tuple[str, ...] = tuple(s.value for s in CaseStatus)
REPORT_STATUSES: tuple[str, ...] = tuple(s.value for s in ReportStatus)
STEP_STATUSES: tuple[str, ...] = ("open", "done", "cancelled")
DELIVERY_STATUSES: tuple[str, ...] = ("pending", "delivered", "failed")


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _id() -> Any:
    return Column(String(40), primary_key=True)


def _case_fk() -> Any:
    return Column(String(40), ForeignKey("protection_case.id"), nullable=False, index=True)


def _at(nullable: bool = False) -> Any:
    return Column(UTCDateTime(), nullable=nullable)


class ProtectionCaseRow(SQLModel, table=True):
    """One child's protection case, from the first report to closure.

    ``agency_id`` is the agency responsible now (the police during 应急处置, the township from the
    notification on); ``version`` is bumped by every change so two concurrent changes cannot both win,
    and ``projected_version`` says how far the graph copy has caught up.
    """

    __tablename__ = "protection_case"
    __table_args__ = (CheckConstraint(f"status IN ({_in(CASE_STATUSES)})", name="status"),)

    id: str = Field(sa_column=_id())
    child_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    division: str = Field(sa_column=Column(String(12), nullable=False, index=True))
    situation: str = Field(sa_column=Column(String(32), nullable=False))
    status: str = Field(sa_column=Column(String(24), nullable=False))
    agency_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    police_agency_id: str = Field(sa_column=Column(String(64), nullable=False))
    township_agency_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    risk_level: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    opened_at: datetime = Field(default_factory=utcnow, sa_column=_at())
    closed_at: datetime | None = Field(default=None, sa_column=_at(True))
    closure_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    projected_version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class MandatoryReport(SQLModel, table=True):
    """A 强制报告, or a school's written dropout report (channel ``dropout``).

    Routed on filing to the receiving agency of the child's jurisdiction (the police; for a dropout the
    township), which must acknowledge and accept it by ``accept_due_at``.
    """

    __tablename__ = "mandatory_report"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(REPORT_STATUSES)})", name="status"),
        Index("ix_mandatory_report_child_filed", "child_id", "filed_at"),
        # A device resending a report it filed offline names it by the same reference.
        UniqueConstraint("reporter_agency_id", "client_ref", name="uq_mandatory_report_client_ref"),
    )

    id: str = Field(sa_column=_id())
    case_id: str | None = Field(
        default=None, sa_column=Column(String(40), ForeignKey("protection_case.id"), nullable=True)
    )
    channel: str = Field(sa_column=Column(String(16), nullable=False))  # mandatory | dropout
    child_id: str = Field(sa_column=Column(String(64), nullable=False))
    division: str = Field(sa_column=Column(String(12), nullable=False))
    situation: str = Field(sa_column=Column(String(32), nullable=False))
    summary: str = Field(sa_column=Column(Text, nullable=False))
    reporter_agency_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    reporter_client_id: str = Field(sa_column=Column(String(64), nullable=False))
    client_ref: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    on_behalf_of_citizen: bool = Field(default=False)
    receiving_agency_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    observed_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    filed_at: datetime = Field(default_factory=utcnow, sa_column=_at())
    accept_due_at: datetime = Field(sa_column=_at())
    acknowledged_at: datetime | None = Field(default=None, sa_column=_at(True))
    accepted_at: datetime | None = Field(default=None, sa_column=_at(True))


class CaseStep(SQLModel, table=True):
    """A duty with a deadline: which agency must do what by when (accept, notify, assess, follow up …)."""

    __tablename__ = "case_step"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(STEP_STATUSES)})", name="status"),
        Index("ix_case_step_open_due", "status", "due_at"),
    )

    id: str = Field(sa_column=_id())
    case_id: str = Field(sa_column=_case_fk())
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    agency_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    ref_id: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
    status: str = Field(default="open", sa_column=Column(String(16), nullable=False))
    opened_at: datetime = Field(default_factory=utcnow, sa_column=_at())
    due_at: datetime | None = Field(default=None, sa_column=_at(True))
    done_at: datetime | None = Field(default=None, sa_column=_at(True))


class CaseHistory(SQLModel, table=True):
    """Append-only: who (client, agency) did what to the case and when, with the facts recorded."""

    __tablename__ = "case_history"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    case_id: str = Field(sa_column=_case_fk())
    at: datetime = Field(default_factory=utcnow, sa_column=_at())
    agency_id: str = Field(sa_column=Column(String(64), nullable=False))
    client_id: str = Field(sa_column=Column(String(64), nullable=False))
    action: str = Field(sa_column=Column(String(48), nullable=False))
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class EmergencyActionRow(SQLModel, table=True):
    """One 应急处置 measure taken by the police (or civil affairs for a shelter placement)."""

    __tablename__ = "emergency_action"

    id: str = Field(sa_column=_id())
    case_id: str = Field(sa_column=_case_fk())
    action: str = Field(sa_column=Column(String(40), nullable=False))
    agency_id: str = Field(sa_column=Column(String(64), nullable=False))
    occurred_on: date = Field(sa_column=Column(Date, nullable=False))
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=_at())
    person_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    placement_kind: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    place: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    since: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    severity: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class CaseAssessment(SQLModel, table=True):
    """评估: safety, guardianship, physical and mental health, risk level; led by the township."""

    __tablename__ = "case_assessment"

    id: str = Field(sa_column=_id())
    case_id: str = Field(sa_column=_case_fk())
    agency_id: str = Field(sa_column=Column(String(64), nullable=False))
    participants: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    safety: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    guardianship: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    physical_health: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    mental_health: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    risk_level: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    opened_at: datetime = Field(default_factory=utcnow, sa_column=_at())
    assessed_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))


class CaseService(SQLModel, table=True):
    """One service of the 帮扶 plan (guardianship guidance, medical care, counselling …) and its provider."""

    __tablename__ = "case_service"

    id: str = Field(sa_column=_id())
    case_id: str = Field(sa_column=_case_fk())
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    provider: str = Field(sa_column=Column(String(200), nullable=False))
    provider_agency_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    status: str = Field(default="open", sa_column=Column(String(16), nullable=False))
    opened_at: datetime = Field(default_factory=utcnow, sa_column=_at())
    closed_at: datetime | None = Field(default=None, sa_column=_at(True))
    outcome: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class CaseFollowUp(SQLModel, table=True):
    """A follow-up visit or call on the plan: what was found, and when the next one is due."""

    __tablename__ = "case_follow_up"

    id: str = Field(sa_column=_id())
    case_id: str = Field(sa_column=_case_fk())
    service_id: str | None = Field(
        default=None, sa_column=Column(String(40), ForeignKey("case_service.id"), nullable=True)
    )
    agency_id: str = Field(sa_column=Column(String(64), nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_column=_at())
    note: str = Field(sa_column=Column(Text, nullable=False))
    next_due_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))


class CaseIntervention(SQLModel, table=True):
    """监护干预: admonition, penalty, criminal referral, temporary guardianship, or a court petition
    (with its statutory grounds, the court, and the court's decision naming a new guardian)."""

    __tablename__ = "case_intervention"

    id: str = Field(sa_column=_id())
    case_id: str = Field(sa_column=_case_fk())
    kind: str = Field(sa_column=Column(String(40), nullable=False))
    agency_id: str = Field(sa_column=Column(String(64), nullable=False))  # who acts (or the court)
    petitioner_agency_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    guardian_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    temporary_guardian: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    grounds: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="done", sa_column=Column(String(16), nullable=False))
    occurred_on: date = Field(sa_column=Column(Date, nullable=False))
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=_at())
    decision: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    decided_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    new_guardian_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class GuardianshipAgreement(SQLModel, table=True):
    """监护责任书 (parents with the village committee) or 委托监护协议 (parents with a capable adult).

    An agreement is never changed once recorded; ``projected`` says its graph copy was written
    (protection.projection.reproject_pending catches up the ones a failed graph write left behind)."""

    __tablename__ = "guardianship_agreement"

    id: str = Field(sa_column=_id())
    kind: str = Field(sa_column=Column(String(24), nullable=False))  # responsibility_letter | entrustment
    child_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    division: str = Field(sa_column=Column(String(12), nullable=False, index=True))
    parent_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    guardian_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    village_agency_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    signed_on: date = Field(sa_column=Column(Date, nullable=False))
    valid_from: date = Field(sa_column=Column(Date, nullable=False))
    valid_to: date = Field(sa_column=Column(Date, nullable=False))
    recorded_by: str = Field(sa_column=Column(String(64), nullable=False))
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=_at())
    projected: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=sql_false())
    )


class WebhookSubscription(SQLModel, table=True):
    """An agency system's endpoint for workflow events. No secret is stored: the signing secret is
    derived from the platform's webhook key and ``secret_salt`` (see protection.webhooks)."""

    __tablename__ = "webhook_subscription"

    id: str = Field(sa_column=_id())
    agency_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    url: str = Field(sa_column=Column(String(500), nullable=False))
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    secret_salt: str = Field(sa_column=Column(String(64), nullable=False), repr=False, exclude=True)
    active: bool = Field(default=True)
    created_by: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_at())


class WebhookDelivery(SQLModel, table=True):
    """The outbox: written in the transaction of the change it announces, delivered afterwards with
    retries, so nothing is lost while a receiver is down. ``id`` is the Standard Webhooks ``webhook-id``
    (the same on every retry, so receivers can drop duplicates)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(DELIVERY_STATUSES)})", name="status"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
    )

    id: str = Field(sa_column=_id())
    subscription_id: str = Field(
        sa_column=Column(String(40), ForeignKey("webhook_subscription.id"), nullable=False, index=True)
    )
    event_type: str = Field(sa_column=Column(String(48), nullable=False))
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", sa_column=Column(String(16), nullable=False))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_at())
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=_at())
    locked_until: datetime | None = Field(default=None, sa_column=_at(True))
    delivered_at: datetime | None = Field(default=None, sa_column=_at(True))
    last_error: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
