"""The case record shared by every mechanism: who acts, steps with deadlines, history, refusals.

Each workflow change runs in one relational transaction (``Work``): the case row, its steps, its
history entry and the webhook outbox rows commit together or not at all. The graph copy is written
afterwards by ``protection.projection`` and can be re-run at any time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from auth.identities import division_contains
from auth.principal import Principal
from auth.tables import Agency
from kernel import clock
from kernel.db import session, write_session
from kernel.messages import say
from kernel.settings import Settings
from protection import transitions as tr
from protection.case_tables import (
    CaseAssessment,
    CaseFollowUp,
    CaseHistory,
    CaseIntervention,
    CaseService,
    CaseStep,
    EmergencyActionRow,
    MandatoryReport,
    ProtectionCaseRow,
    new_id,
)


class WorkflowError(Exception):
    """A refused workflow action. ``code`` is the GraphQL error code (INVALID_TRANSITION, MISSING_FACTS,
    FORBIDDEN, NOT_FOUND, CONFLICT, BAD_REQUEST, NO_RECEIVING_AGENCY, NOT_RECEIVING_AGENCY); the
    message names the rule and never carries personal data."""

    def __init__(self, code: str, message: str, reason: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason or code.lower()
        self.extra = extra


def not_found(what: str = "case") -> WorkflowError:
    # One answer for absent and out of scope, as for people: ids cannot be probed.
    return WorkflowError(
        "NOT_FOUND", say("api.not_found", what=say(f"api.what.{what}")), "not_found_or_out_of_scope"
    )


@dataclass(frozen=True)
class Actor:
    """Who acts: the agency (and its type and jurisdiction) and the client, from the access token."""

    agency_id: str
    agency_type: str
    role: str
    jurisdiction: str
    client_id: str

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(
            principal.agency_id,
            principal.agency_type,
            principal.role,
            principal.jurisdiction,
            principal.client_id,
        )

    def covers(self, division: str) -> bool:
        """Whether the division lies in this agency's jurisdiction."""
        try:
            return division_contains(self.jurisdiction, division)
        except (TypeError, ValueError):
            return False


def now() -> datetime:
    return clock.now()


@dataclass
class Work:
    """One transaction of workflow changes, and what to do after it commits."""

    s: Session
    actor: Actor
    settings: Settings
    at: datetime = field(default_factory=now)
    touched_cases: set[str] = field(default_factory=set)
    touched_agreements: set[str] = field(default_factory=set)
    reads: Callable[[CaseFile], bool] | None = None
    """Whether the actor may read a case (the API's rule: a party to it, or the child in the caller's
    row scope); None: every case (the worker, the CLI)."""
    _versions: dict[str, int] = field(default_factory=dict)
    _read: set[str] = field(default_factory=set)

    # ---- the case row ------------------------------------------------------------------------
    def case(self, case_id: str, what: str = "case") -> ProtectionCaseRow:
        """The case, if the actor may read it; the one NOT_FOUND otherwise, for an absent case alike
        (`what`: the record the caller named, a service or a petition of the case). Decided before
        any check of the step (the acting agency, the status, the facts), whose refusals would each
        tell an agency that may not see the case that it exists."""
        row = self.s.get(ProtectionCaseRow, case_id)
        if row is None:
            raise not_found(what)
        if self.reads is not None and row.id not in self._read:
            f = load_file(self.s, row.id)
            if f is None or not self.reads(f):
                raise not_found(what)
            self._read.add(row.id)
        self._versions.setdefault(row.id, row.version)
        return row

    def require(self, case: ProtectionCaseRow, action: str) -> tr.Transition:
        """The case transition of `action` (protection/transitions.py), refused from the wrong status."""
        try:
            return tr.check(tr.CASE, action, case.status)
        except tr.TransitionRefused as exc:
            raise WorkflowError("INVALID_TRANSITION", str(exc), status=case.status) from None

    def advance(self, case: ProtectionCaseRow, action: str) -> tr.Transition:
        """Check `action` and move the case to the status the table names (if it names one)."""
        t = self.require(case, action)
        if t.target is not None:
            case.status = t.target
            self.s.add(case)
        return t

    def changed(self, case: ProtectionCaseRow, action: str, **detail: Any) -> None:
        """Record a change: history entry now, version bump (optimistic lock) at the end."""
        self._versions.setdefault(case.id, case.version)
        self.touched_cases.add(case.id)
        self.s.add(
            CaseHistory(
                case_id=case.id,
                at=self.at,
                agency_id=self.actor.agency_id,
                client_id=self.actor.client_id,
                action=action,
                detail={k: _plain(v) for k, v in detail.items() if v is not None},
            )
        )

    # ---- steps -------------------------------------------------------------------------------
    def open_step(
        self,
        case: ProtectionCaseRow,
        kind: str,
        agency_id: str,
        due: timedelta | None,
        ref_id: str | None = None,
    ) -> CaseStep:
        step = CaseStep(
            id=new_id("step"),
            case_id=case.id,
            kind=kind,
            agency_id=agency_id,
            ref_id=ref_id,
            opened_at=self.at,
            due_at=self.at + due if due is not None else None,
        )
        self.s.add(step)
        return step

    def close_steps(self, case_id: str, *kinds: str, ref_id: str | None = None, status: str = "done") -> int:
        q = select(CaseStep).where(CaseStep.case_id == case_id, CaseStep.status == "open")
        if kinds:
            q = q.where(col(CaseStep.kind).in_(kinds))
        if ref_id is not None:
            q = q.where(CaseStep.ref_id == ref_id)
        n = 0
        for step in self.s.exec(q):
            step.status, step.done_at = status, self.at
            self.s.add(step)
            n += 1
        return n

    # ---- agencies ----------------------------------------------------------------------------
    def agency_for(self, agency_type: tr.AgencyType, division: str) -> Agency | None:
        """The most local agency of a type whose jurisdiction contains the division (a township's
        police station before the county bureau)."""
        best: Agency | None = None
        for agency in self.s.exec(select(Agency).where(Agency.agency_type == agency_type)):
            if division_contains(agency.jurisdiction, division) and (
                best is None or len(agency.jurisdiction.rstrip("0")) > len(best.jurisdiction.rstrip("0"))
            ):
                best = agency
        return best

    def agency(self, agency_id: str) -> Agency | None:
        return self.s.get(Agency, agency_id)

    # ---- commit ------------------------------------------------------------------------------
    def finish(self) -> None:
        """Bump each touched case's version, refusing if another change got there first."""
        self.s.flush()
        for case_id in self.touched_cases:
            old = self._versions[case_id]
            result = self.s.execute(
                update(ProtectionCaseRow)
                .where(col(ProtectionCaseRow.id) == case_id, col(ProtectionCaseRow.version) == old)
                .values(version=old + 1)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise WorkflowError("CONFLICT", say("workflow.case_changed"))


@contextmanager
def work(
    engine: Engine, actor: Actor, settings: Settings, reads: Callable[[CaseFile], bool] | None = None
) -> Iterator[Work]:
    """One transaction; nothing of it is kept if anything in it is refused. With `reads`, a case the
    actor may not read is answered as one that does not exist (`Work.case`)."""
    with write_session(engine) as s:
        w = Work(s, actor, settings, reads=reads)
        yield w
        w.finish()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return value


def as_date(value: date | datetime | None) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value


# ---- reads -----------------------------------------------------------------------------------


@dataclass
class CaseFile:
    """Everything recorded on one case, for the API and the projection."""

    case: ProtectionCaseRow
    reports: list[MandatoryReport]
    steps: list[CaseStep]
    history: list[CaseHistory]
    actions: list[EmergencyActionRow]
    assessments: list[CaseAssessment]
    services: list[CaseService]
    follow_ups: list[CaseFollowUp]
    interventions: list[CaseIntervention]

    @property
    def participants(self) -> set[str]:
        """Agencies that hold a part in the case: they may read it whatever their row scope."""
        out = {self.case.agency_id, self.case.police_agency_id}
        out |= {a for a in [self.case.township_agency_id] if a}
        out |= {r.reporter_agency_id for r in self.reports} | {r.receiving_agency_id for r in self.reports}
        out |= {s.provider_agency_id for s in self.services if s.provider_agency_id}
        for i in self.interventions:
            out |= {a for a in (i.agency_id, i.petitioner_agency_id) if a}
        out |= set().union(*(a.participants for a in self.assessments)) if self.assessments else set()
        return out


def load_file(s: Session, case_id: str) -> CaseFile | None:
    case = s.get(ProtectionCaseRow, case_id)
    if case is None:
        return None

    def rows(model: Any, order: Any) -> list[Any]:
        return list(s.exec(select(model).where(model.case_id == case_id).order_by(order)))

    return CaseFile(
        case=case,
        reports=rows(MandatoryReport, MandatoryReport.filed_at),
        steps=rows(CaseStep, CaseStep.opened_at),
        history=rows(CaseHistory, CaseHistory.id),
        actions=rows(EmergencyActionRow, EmergencyActionRow.recorded_at),
        assessments=rows(CaseAssessment, CaseAssessment.opened_at),
        services=rows(CaseService, CaseService.opened_at),
        follow_ups=rows(CaseFollowUp, CaseFollowUp.at),
        interventions=rows(CaseIntervention, CaseIntervention.recorded_at),
    )


def case_file(engine: Engine, case_id: str) -> CaseFile | None:
    with session(engine) as s:
        return load_file(s, case_id)


def cases_of(
    engine: Engine,
    *,
    agency_id: str | None = None,
    child_id: str | None = None,
    open_only: bool = False,
    limit: int = 200,
) -> list[ProtectionCaseRow]:
    """Cases an agency is responsible for or took part in (via reports and steps), or a child's."""
    with session(engine) as s:
        q = select(ProtectionCaseRow)
        if child_id is not None:
            q = q.where(ProtectionCaseRow.child_id == child_id)
        if agency_id is not None:
            involved = select(CaseStep.case_id).where(CaseStep.agency_id == agency_id)
            reported = select(MandatoryReport.case_id).where(
                (MandatoryReport.reporter_agency_id == agency_id)
                | (MandatoryReport.receiving_agency_id == agency_id)
            )
            q = q.where(
                (col(ProtectionCaseRow.agency_id) == agency_id)
                | col(ProtectionCaseRow.id).in_(involved)
                | col(ProtectionCaseRow.id).in_(reported)
            )
        if open_only:
            q = q.where(ProtectionCaseRow.status != tr.CaseStatus.CLOSED)
        return list(s.exec(q.order_by(col(ProtectionCaseRow.opened_at).desc()).limit(limit)))
