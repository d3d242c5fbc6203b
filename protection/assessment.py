"""评估帮扶: the township, with civil affairs and the police, assesses; a plan of services follows,
with providers, follow-ups, and closure.

Chongqing §3.3 and Zhangye §4: the township (乡镇人民政府) with the county civil-affairs department and the
police assesses the child's safety, guardianship, physical and mental health, then arranges guardianship
guidance, medical care, psychological counselling, behaviour correction, legal services and legal aid,
and brings the family into social assistance where it qualifies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine
from sqlmodel import select

from auth.identities import division_contains
from auth.tables import Agency
from kernel import clock
from kernel.db import session
from kernel.messages import language, say
from protection import transitions as tr
from protection.case_tables import CaseAssessment, CaseFollowUp, CaseService, ProtectionCaseRow, new_id
from protection.cases import Work, WorkflowError, not_found
from protection.webhooks import enqueue

SERVICE_KINDS: dict[str, str] = {
    "guardianship_guidance": "监护指导",
    "medical_care": "医疗救治",
    "psychological_counselling": "心理疏导",
    "behaviour_correction": "行为矫治",
    "legal_services": "法律服务",
    "legal_aid": "法律援助",
    "social_assistance": "社会救助、社会福利保障",
}
RISK_LEVELS: tuple[str, ...] = ("low", "medium", "high", "critical")


def _names(prefix: str, codes: Sequence[str]) -> str:
    """Codes as a refusal names them (the catalogue's ``prefix.code``), in the caller's language."""
    return say("workflow.list_sep").join(say(f"{prefix}.{c}") for c in codes)


def _kind_name(kind: str) -> str:
    """A service as a refusal names it: its Chinese name, or its code in English."""
    return kind if language() == "en" else SERVICE_KINDS.get(kind, kind)


def _lead(w: Work, case: ProtectionCaseRow) -> None:
    """The township notified leads; county civil affairs (牵头部门) may act with it."""
    if w.actor.agency_id == case.township_agency_id:
        return
    if w.actor.agency_type == tr.AgencyType.CIVIL_AFFAIRS and w.actor.covers(case.division):
        return
    raise WorkflowError("FORBIDDEN", say("workflow.not_lead_township"))


def participants(engine: Engine, case: ProtectionCaseRow) -> list[str]:
    """The agencies the assessment is made with: the police handling the case and the most local
    civil-affairs department of the child's area (what `open_assessment` requires). The township
    does not know other agencies' ids; without this the assessment could only be opened over the
    API by someone who looked them up."""
    out = [case.police_agency_id] if case.police_agency_id else []
    best: Agency | None = None
    with session(engine) as s:
        for agency in s.exec(
            select(Agency).where(Agency.agency_type == tr.AgencyType.CIVIL_AFFAIRS).order_by(Agency.id)
        ):
            if division_contains(agency.jurisdiction, case.division) and (
                best is None or len(agency.jurisdiction.rstrip("0")) > len(best.jurisdiction.rstrip("0"))
            ):
                best = agency
    if best is not None:
        out.append(best.id)
    return out


def open_assessment(w: Work, case_id: str, participants: list[str]) -> CaseAssessment:
    case = w.case(case_id)
    _lead(w, case)
    w.require(case, "open_assessment")
    types = set()
    for agency_id in participants:
        agency = w.agency(agency_id)
        if agency is None:
            raise WorkflowError("BAD_REQUEST", say("workflow.participant_unregistered"))
        types.add(agency.agency_type)
    missing = sorted({tr.AgencyType.CIVIL_AFFAIRS, tr.AgencyType.PUBLIC_SECURITY} - types)
    if missing:
        raise WorkflowError(
            "MISSING_FACTS",
            say("workflow.assessment_participants", missing=_names("workflow.agency", missing)),
            missing=missing,
        )
    row = CaseAssessment(
        id=new_id("asm"),
        case_id=case.id,
        agency_id=w.actor.agency_id,
        participants=sorted(set(participants) | {w.actor.agency_id}),
        opened_at=w.at,
    )
    w.s.add(row)
    w.advance(case, "open_assessment")
    w.changed(case, "assessment_opened", assessment_id=row.id, participants=row.participants)
    return row


@dataclass
class Findings:
    safety: str | None
    guardianship: str | None
    physical_health: str | None
    mental_health: str | None
    risk_level: str | None
    assessed_on: date | None = None


def record_assessment(w: Work, case_id: str, findings: Findings) -> CaseAssessment:
    case = w.case(case_id)
    _lead(w, case)
    w.require(case, "record_assessment")
    missing = [
        name
        for name in ("safety", "guardianship", "physical_health", "mental_health", "risk_level")
        if not (getattr(findings, name) or "").strip()
    ]
    if missing:
        raise WorkflowError(
            "MISSING_FACTS",
            say("workflow.assessment_needs", missing=_names("workflow.finding", missing)),
            missing=missing,
        )
    if findings.risk_level not in RISK_LEVELS:
        raise WorkflowError(
            "BAD_REQUEST", say("workflow.unknown_value", field="riskLevel", allowed=", ".join(RISK_LEVELS))
        )
    row = w.s.exec(
        select(CaseAssessment)
        .where(CaseAssessment.case_id == case.id)
        .order_by(CaseAssessment.opened_at.desc())  # type: ignore[attr-defined]
    ).first()
    if row is None:
        raise not_found("assessment")
    row.safety, row.guardianship = findings.safety, findings.guardianship
    row.physical_health, row.mental_health = findings.physical_health, findings.mental_health
    row.risk_level, row.assessed_on = findings.risk_level, findings.assessed_on or clock.local(w.at).date()
    w.s.add(row)
    w.advance(case, "record_assessment")
    case.risk_level = findings.risk_level
    w.close_steps(case.id, "assess")
    w.open_step(case, "plan", case.agency_id, timedelta(days=w.settings.plan_days))
    w.changed(case, "assessed", assessment_id=row.id, risk_level=row.risk_level)
    enqueue(
        w.s,
        "case.assessed",
        [a for a in row.participants if a != w.actor.agency_id],
        {"case_id": case.id, "risk_level": row.risk_level, "division": case.division},
    )
    return row


@dataclass
class PlannedService:
    kind: str
    provider: str
    provider_agency_id: str | None = None
    basis: str | None = None  # social assistance: the policy the family qualifies under (低保, 特困 …)


def arrange_services(w: Work, case_id: str, services: list[PlannedService]) -> list[CaseService]:
    case = w.case(case_id)
    _lead(w, case)
    w.require(case, "arrange_services")
    if not services:
        raise WorkflowError("MISSING_FACTS", say("workflow.plan_needs_service"))
    rows = []
    for p in services:
        if p.kind not in SERVICE_KINDS:
            raise WorkflowError(
                "BAD_REQUEST", say("workflow.unknown_value", field="kind", allowed=", ".join(SERVICE_KINDS))
            )
        if not p.provider.strip():
            raise WorkflowError(
                "MISSING_FACTS", say("workflow.service_needs_provider", service=_kind_name(p.kind))
            )
        if p.kind == "social_assistance" and not (p.basis or "").strip():
            raise WorkflowError("MISSING_FACTS", say("workflow.assistance_needs_basis"))
        if p.provider_agency_id and w.agency(p.provider_agency_id) is None:
            raise WorkflowError("BAD_REQUEST", say("workflow.provider_unregistered"))
        row = CaseService(
            id=new_id("svc"),
            case_id=case.id,
            kind=p.kind,
            provider=p.provider.strip(),
            provider_agency_id=p.provider_agency_id,
            opened_at=w.at,
        )
        w.s.add(row)
        rows.append(row)
        w.open_step(
            case,
            "follow_up",
            p.provider_agency_id or case.agency_id,
            timedelta(days=w.settings.follow_up_days),
            row.id,
        )
    w.close_steps(case.id, "plan")
    w.changed(
        case,
        "services_arranged",
        services=[f"{r.kind}:{r.id}" for r in rows],
        basis=[p.basis for p in services if p.basis],
    )
    return rows


def _service(w: Work, service_id: str) -> tuple[CaseService, ProtectionCaseRow]:
    svc = w.s.get(CaseService, service_id)
    if svc is None:
        raise not_found("service")
    case = w.case(svc.case_id, "service")
    if w.actor.agency_id not in {svc.provider_agency_id, case.township_agency_id} and not (
        w.actor.agency_type == tr.AgencyType.CIVIL_AFFAIRS and w.actor.covers(case.division)
    ):
        raise WorkflowError("FORBIDDEN", say("workflow.not_provider"))
    return svc, case


def record_follow_up(
    w: Work, case_id: str, service_id: str | None, note: str, next_due_on: date | None
) -> CaseFollowUp:
    if service_id:
        _, case = _service(w, service_id)
        if case.id != case_id:
            raise not_found("service")
    else:
        case = w.case(case_id)
        _lead(w, case)
    w.require(case, "follow_up")
    if not note.strip():
        raise WorkflowError("MISSING_FACTS", say("workflow.follow_up_needs_finding"))
    row = CaseFollowUp(
        id=new_id("fup"),
        case_id=case.id,
        service_id=service_id,
        agency_id=w.actor.agency_id,
        at=w.at,
        note=note.strip(),
        next_due_on=next_due_on,
    )
    w.s.add(row)
    if service_id:
        w.close_steps(case.id, "follow_up", ref_id=service_id)
    if next_due_on is not None:
        # Days from the Beijing day it is recorded on (kernel/clock.py): at 07:00 Beijing the UTC
        # date is still yesterday, and the step fell due a day after the day named.
        due = next_due_on - clock.local(w.at).date()
        w.open_step(case, "follow_up", w.actor.agency_id, timedelta(days=max(due.days, 0)), service_id)
    w.changed(case, "follow_up", follow_up_id=row.id, service_id=service_id, next_due_on=next_due_on)
    return row


def complete_service(w: Work, service_id: str, outcome: str) -> CaseService:
    svc, case = _service(w, service_id)
    w.require(case, "complete_service")
    if svc.status != "open":
        raise WorkflowError("INVALID_TRANSITION", say("workflow.service_completed"))
    if not outcome.strip():
        raise WorkflowError("MISSING_FACTS", say("workflow.completion_needs_outcome"))
    svc.status, svc.closed_at, svc.outcome = "completed", w.at, outcome.strip()
    w.s.add(svc)
    w.close_steps(case.id, "follow_up", ref_id=svc.id)
    w.changed(case, "service_completed", service_id=svc.id, kind=svc.kind)
    return svc


def close_case(w: Work, case_id: str, reason: str) -> ProtectionCaseRow:
    case = w.case(case_id)
    _lead(w, case)
    w.require(case, "close_case")
    services = list(w.s.exec(select(CaseService).where(CaseService.case_id == case.id)))
    open_services = [s.kind for s in services if s.status == "open"]
    if not services:
        raise WorkflowError("MISSING_FACTS", say("workflow.close_needs_plan"))
    if open_services:
        raise WorkflowError(
            "MISSING_FACTS", say("workflow.services_open", count=len(open_services)), missing=open_services
        )
    if w.s.exec(select(CaseFollowUp).where(CaseFollowUp.case_id == case.id)).first() is None:
        raise WorkflowError("MISSING_FACTS", say("workflow.close_needs_follow_up"))
    if not reason.strip():
        raise WorkflowError("MISSING_FACTS", say("workflow.close_needs_reason"))
    from protection.case_tables import CaseIntervention

    pending = w.s.exec(
        select(CaseIntervention).where(
            CaseIntervention.case_id == case.id, CaseIntervention.status == tr.PetitionStatus.PENDING
        )
    ).first()
    if pending is not None:
        raise WorkflowError("INVALID_TRANSITION", say("workflow.petition_pending"))
    w.advance(case, "close_case")
    case.closed_at, case.closure_reason = w.at, reason.strip()
    w.s.add(case)
    w.close_steps(case.id, status="cancelled")
    w.changed(case, "closed", reason=case.closure_reason)
    enqueue(
        w.s,
        "case.closed",
        [case.police_agency_id, case.township_agency_id or ""],
        {"case_id": case.id, "division": case.division},
    )
    return case
